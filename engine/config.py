"""Configuration read from the environment, passed into the engine as one object."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def _default_database_url() -> str:
    instance = Path(os.environ.get("GOVFLOW_INSTANCE_PATH", REPO_ROOT / "instance"))
    return f"sqlite:///{instance / 'govflow.sqlite3'}"


@dataclass(frozen=True)
class Config:
    database_url: str = field(default_factory=_default_database_url)
    secret_key: str = "dev-only-secret-change-me"
    bpmn_dir: Path = REPO_ROOT / "bpmn"
    after_hours_policy: str = "calendar_date"
    max_form_field_length: int = 10_000
    sql_echo: bool = False
    secure_cookies: bool = False  # send session cookies over HTTPS only (set behind TLS)

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> "Config":
        """Build a config from GOVFLOW_* environment variables, with defaults."""
        env = os.environ if environ is None else environ
        kwargs = {}
        if env.get("GOVFLOW_DATABASE_URL"):
            kwargs["database_url"] = env["GOVFLOW_DATABASE_URL"]
        if env.get("GOVFLOW_SECRET_KEY"):
            kwargs["secret_key"] = env["GOVFLOW_SECRET_KEY"]
        if env.get("GOVFLOW_BPMN_DIR"):
            kwargs["bpmn_dir"] = Path(env["GOVFLOW_BPMN_DIR"])
        if env.get("GOVFLOW_AFTER_HOURS_POLICY"):
            kwargs["after_hours_policy"] = env["GOVFLOW_AFTER_HOURS_POLICY"]
        kwargs["sql_echo"] = env.get("GOVFLOW_SQL_ECHO", "") == "1"
        kwargs["secure_cookies"] = env.get("GOVFLOW_SECURE_COOKIES", "") == "1"
        return cls(**kwargs)
