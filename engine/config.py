"""Configuration read from the environment, passed into the engine as one object."""
from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

import click

REPO_ROOT = Path(__file__).resolve().parent.parent
DEVELOPMENT = "development"  # GOVFLOW_ENV of `make run` and the tests
SECRET_FILE = "secret_key"  # in the instance folder, made once for development
MISSING_SECRET = (
    "GOVFLOW_SECRET_KEY is not set. Set it to a long random value kept secret and the same for every "
    "web process and worker, e.g. GOVFLOW_SECRET_KEY=$(python3 -c 'import secrets; "
    "print(secrets.token_urlsafe(48))'); for a development machine only, GOVFLOW_ENV=development "
    "makes one and keeps it in the instance folder.")


class MissingSecret(RuntimeError):
    """A server or worker started without a secret key outside development."""


class BadAuditKey(MissingSecret, click.ClickException):
    """``GOVFLOW_AUDIT_KEY`` (or one of ``GOVFLOW_AUDIT_OLD_KEYS``) shorter than the minimum of
    ``engine.audit_keys``: whatever builds the engine (web app, worker, any ``govflow`` command)
    refuses to start, saying what to set. A ``ClickException`` too, so that a command prints the
    message, not a traceback."""

    def __init__(self, message: str):
        click.ClickException.__init__(self, message)


def instance_path(environ=None) -> Path:
    env = os.environ if environ is None else environ
    return Path(env.get("GOVFLOW_INSTANCE_PATH", REPO_ROOT / "instance"))


def _default_database_url() -> str:
    return f"sqlite:///{instance_path() / 'govflow.sqlite3'}"


def development_secret(instance: Path) -> str:
    """The development key kept in ``instance`` (made once, readable by its owner only)."""
    path = instance / SECRET_FILE
    if not path.exists():
        instance.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


def secret_from_env(environ=None) -> str | None:
    """``GOVFLOW_SECRET_KEY``; in development (``GOVFLOW_ENV=development``) the instance folder's
    key; otherwise None: there is no default key (``require_secret`` refuses to start)."""
    env = os.environ if environ is None else environ
    if env.get("GOVFLOW_SECRET_KEY"):
        return env["GOVFLOW_SECRET_KEY"]
    if env.get("GOVFLOW_ENV") == DEVELOPMENT:
        try:
            return development_secret(instance_path(env))
        except FileExistsError:  # another process made it just now
            return (instance_path(env) / SECRET_FILE).read_text().strip()
    return None


@dataclass(frozen=True)
class Config:
    database_url: str = field(default_factory=_default_database_url)
    secret_key: str | None = field(default_factory=secret_from_env)  # None: refuse to start
    bpmn_dir: Path = REPO_ROOT / "bpmn"
    after_hours_policy: str = "calendar_date"
    max_form_field_length: int = 10_000
    sql_echo: bool = False
    secure_cookies: bool = False  # always Secure cookies (they are Secure anyway on an HTTPS request)
    trusted_proxies: int = 0  # reverse proxies in front whose X-Forwarded-* headers are believed
    # Log-in through the province's unified identity platform (OpenID Connect), beside passwords.
    oidc_issuer: str | None = field(default_factory=lambda: os.environ.get("GOVFLOW_OIDC_ISSUER") or None)
    oidc_client_id: str | None = field(default_factory=lambda: os.environ.get("GOVFLOW_OIDC_CLIENT_ID") or None)
    oidc_client_secret: str | None = field(default_factory=lambda: os.environ.get("GOVFLOW_OIDC_CLIENT_SECRET") or None)
    oidc_login_claim: str = field(default_factory=lambda: os.environ.get("GOVFLOW_OIDC_LOGIN_CLAIM", "preferred_username"))
    audit_key: str | None = field(default_factory=lambda: os.environ.get("GOVFLOW_AUDIT_KEY") or None)
    audit_old_keys: tuple[str, ...] = field(default_factory=lambda: tuple(
        k for k in os.environ.get("GOVFLOW_AUDIT_OLD_KEYS", "").split(",") if k.strip()))

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> "Config":
        """Build a config from GOVFLOW_* environment variables, with defaults."""
        env = os.environ if environ is None else environ
        kwargs = {}
        if env.get("GOVFLOW_DATABASE_URL"):
            kwargs["database_url"] = env["GOVFLOW_DATABASE_URL"]
        kwargs["secret_key"] = secret_from_env(env)
        if env.get("GOVFLOW_BPMN_DIR"):
            kwargs["bpmn_dir"] = Path(env["GOVFLOW_BPMN_DIR"])
        if env.get("GOVFLOW_AFTER_HOURS_POLICY"):
            kwargs["after_hours_policy"] = env["GOVFLOW_AFTER_HOURS_POLICY"]
        kwargs["sql_echo"] = env.get("GOVFLOW_SQL_ECHO", "") == "1"
        kwargs["secure_cookies"] = env.get("GOVFLOW_SECURE_COOKIES", "") == "1"
        proxies = env.get("GOVFLOW_TRUSTED_PROXIES", "0").strip() or "0"
        if not proxies.isdigit() or int(proxies) > 10:
            raise ValueError(f"GOVFLOW_TRUSTED_PROXIES must be a number of proxies, 0 to 10 (got {proxies!r})")
        kwargs["trusted_proxies"] = int(proxies)
        kwargs["audit_key"] = env.get("GOVFLOW_AUDIT_KEY") or None
        for name in ("issuer", "client_id", "client_secret"):
            kwargs[f"oidc_{name}"] = env.get(f"GOVFLOW_OIDC_{name.upper()}") or None
        kwargs["oidc_login_claim"] = env.get("GOVFLOW_OIDC_LOGIN_CLAIM", "preferred_username")
        kwargs["audit_old_keys"] = tuple(k for k in env.get("GOVFLOW_AUDIT_OLD_KEYS", "").split(",") if k.strip())
        return cls(**kwargs)

    def require_secret(self) -> str:
        """The secret key, or ``MissingSecret`` saying what to set (a server and a worker call it)."""
        if not self.secret_key or len(self.secret_key) < 16:
            raise MissingSecret(MISSING_SECRET if not self.secret_key else
                                "GOVFLOW_SECRET_KEY is too short: use at least 16 random characters (32 or more advised).")
        return self.secret_key
