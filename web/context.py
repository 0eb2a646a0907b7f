"""What every view needs: the engine, the acting person, safe redirect targets."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app, request
from flask_login import current_user

from engine.service import Engine
from engine.uow import Actor


def govflow() -> Engine:
    return current_app.extensions["govflow"]


def actor() -> Actor:
    """The logged-in person as the engine sees them (login, roles, department)."""
    return current_user.actor


def client_ip() -> str:
    # Behind a reverse proxy, wrap the app in werkzeug's ProxyFix so that this is the client's address.
    return request.remote_addr or "-"


def safe_next(target: str | None, default: str) -> str:
    """A redirect target on this site only (no scheme, no host, no protocol-relative path)."""
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target
