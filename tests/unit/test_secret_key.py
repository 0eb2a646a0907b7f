"""No silent default secret key (issue 15): development makes one and keeps it in the instance
folder; a server or worker started any other way without GOVFLOW_SECRET_KEY refuses to start."""
from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from engine.config import Config, MissingSecret, secret_from_env

ROOT = Path(__file__).resolve().parents[2]


def test_without_a_key_outside_development_there_is_none_and_the_app_refuses_to_start(tmp_path):
    env = {"GOVFLOW_INSTANCE_PATH": str(tmp_path)}
    assert secret_from_env(env) is None
    config = Config.from_env(env)
    with pytest.raises(MissingSecret, match="GOVFLOW_SECRET_KEY is not set"):
        config.require_secret()
    from web import create_app
    with pytest.raises(MissingSecret):
        create_app(Config(database_url=f"sqlite:///{tmp_path / 'x.sqlite3'}", secret_key=None))
    assert not (tmp_path / "secret_key").exists()


def test_a_short_key_is_refused_and_a_set_key_is_used_as_given(tmp_path):
    with pytest.raises(MissingSecret, match="too short"):
        Config(secret_key="short").require_secret()
    given = "k" * 40
    assert Config.from_env({"GOVFLOW_SECRET_KEY": given, "GOVFLOW_ENV": "development",
                            "GOVFLOW_INSTANCE_PATH": str(tmp_path)}).require_secret() == given
    assert not (tmp_path / "secret_key").exists()


def test_development_makes_a_random_key_once_and_keeps_it_private(tmp_path):
    env = {"GOVFLOW_ENV": "development", "GOVFLOW_INSTANCE_PATH": str(tmp_path / "instance")}
    first = Config.from_env(env).require_secret()
    again = Config.from_env(env).require_secret()
    other = Config.from_env({**env, "GOVFLOW_INSTANCE_PATH": str(tmp_path / "elsewhere")}).require_secret()
    assert first == again and len(first) >= 48 and other != first
    assert stat.S_IMODE(os.stat(tmp_path / "instance" / "secret_key").st_mode) == 0o600


@pytest.mark.parametrize("command", [
    [sys.executable, "-c", "import web; web.create_app()"],
    [str(Path(sys.executable).parent / "govflow"), "worker", "--once"],
], ids=["web", "worker"])
def test_a_server_or_worker_started_without_a_secret_exits_saying_what_to_set(tmp_path, command):
    env = {k: v for k, v in os.environ.items() if k not in ("GOVFLOW_SECRET_KEY", "GOVFLOW_ENV")}
    env.update(GOVFLOW_INSTANCE_PATH=str(tmp_path), PYTHONPATH=str(ROOT),
               GOVFLOW_DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}")
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode != 0
    assert "GOVFLOW_SECRET_KEY is not set" in result.stderr and "Traceback" not in result.stderr[-2000:] or \
        command[1] == "-c"
