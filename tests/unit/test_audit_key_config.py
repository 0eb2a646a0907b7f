"""A too-short audit key (GOVFLOW_AUDIT_KEY, or one of GOVFLOW_AUDIT_OLD_KEYS) is a refusal to
start that says what to set and the minimum length, like a missing secret key
(tests/unit/test_secret_key.py): for the web app, the timer worker and every ``govflow`` command,
never a raw ValueError or a traceback, and never the key itself."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from engine import audit_keys
from engine.audit_keys import MIN_KEY_LENGTH
from engine.config import BadAuditKey, Config, MissingSecret

ROOT = Path(__file__).resolve().parents[2]
SECRET = "s" * 40
SHORT = "too-short-audit-key"  # 19 characters
GOOD = "a" * MIN_KEY_LENGTH


def test_a_short_key_is_refused_with_what_to_set_and_the_minimum():
    assert MIN_KEY_LENGTH == 32
    with pytest.raises(BadAuditKey) as refused:
        audit_keys.from_config(Config(database_url="sqlite://", secret_key=SECRET, audit_key=SHORT))
    message = str(refused.value)
    assert message.startswith("GOVFLOW_AUDIT_KEY is too short (19 characters)")
    assert "at least 32" in message and "secrets.token_urlsafe(48)" in message
    assert SHORT not in message  # the key is never printed
    assert isinstance(refused.value, MissingSecret)  # what a server's start-up already refuses with


@pytest.mark.parametrize("key, ok", [(GOOD, True), (GOOD[:-1], False), (f"  {GOOD}\n", True),
                                     (f"  {GOOD[:-1]}  ", False), ("   ", False)])
def test_the_minimum_counts_characters_without_surrounding_blanks(key, ok):
    config = Config(database_url="sqlite://", secret_key=SECRET, audit_key=key)
    if ok:
        assert audit_keys.from_config(config).current == GOOD.encode()
    else:
        with pytest.raises(BadAuditKey, match="GOVFLOW_AUDIT_KEY is too short"):
            audit_keys.from_config(config)


def test_a_short_former_key_names_its_entry_in_the_old_keys():
    config = Config.from_env({"GOVFLOW_SECRET_KEY": SECRET, "GOVFLOW_AUDIT_KEY": GOOD,
                              "GOVFLOW_AUDIT_OLD_KEYS": f"{'b' * 40},{SHORT}"})
    with pytest.raises(BadAuditKey) as refused:
        audit_keys.from_config(config)
    assert str(refused.value).startswith("GOVFLOW_AUDIT_OLD_KEYS (entry 2 of 2) is too short (19 characters)")
    assert "at least 32" in str(refused.value) and SHORT not in str(refused.value)


def test_without_an_audit_key_the_secret_key_still_gives_one():
    keys = audit_keys.from_config(Config(database_url="sqlite://", secret_key=SECRET, audit_key=None))
    assert keys.current == audit_keys.derive(SECRET)


def test_the_web_app_refuses_to_be_built(tmp_path):
    from web import create_app
    with pytest.raises(BadAuditKey, match="at least 32"):
        create_app(Config(database_url=f"sqlite:///{tmp_path / 'x.sqlite3'}", secret_key=SECRET, audit_key=SHORT))


GOVFLOW = str(Path(sys.executable).parent / "govflow")


@pytest.mark.parametrize("command", [
    [sys.executable, "-c", "import web; web.create_app()"],
    [GOVFLOW, "worker", "--once"],
    [GOVFLOW, "audit", "verify"],
    [GOVFLOW, "calendar", "status"],
], ids=["web", "worker", "cli-audit-verify", "cli-calendar-status"])
@pytest.mark.parametrize("variable", ["GOVFLOW_AUDIT_KEY", "GOVFLOW_AUDIT_OLD_KEYS"])
def test_a_process_started_with_a_short_key_exits_saying_what_to_set(tmp_path, command, variable):
    env = {k: v for k, v in os.environ.items() if not k.startswith("GOVFLOW_")}
    env.update(GOVFLOW_INSTANCE_PATH=str(tmp_path), PYTHONPATH=str(ROOT), GOVFLOW_SECRET_KEY=SECRET,
               GOVFLOW_DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}", GOVFLOW_AUDIT_KEY=GOOD)
    env[variable] = SHORT
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0, result.stdout
    assert f"{variable}" in result.stderr and "is too short (19 characters)" in result.stderr, result.stderr[-2000:]
    assert "at least 32" in result.stderr and SHORT not in result.stderr
    if command[0] == GOVFLOW:  # a command line: the message alone, no traceback
        assert "Traceback" not in result.stderr, result.stderr[-2000:]
        assert result.stderr.startswith(f"Error: {variable}"), result.stderr
    else:  # the web app raises the refusal itself (gunicorn logs it; MissingSecret does the same)
        assert "engine.config.BadAuditKey" in result.stderr and "ValueError" not in result.stderr
    assert not (tmp_path / "db.sqlite3").exists()  # refused before the database is touched
