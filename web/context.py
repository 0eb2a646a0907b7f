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
    # Behind reverse proxies, GOVFLOW_TRUSTED_PROXIES makes this the client's address (web/security.py).
    return request.remote_addr or "-"


def safe_next(target: str | None, default: str) -> str:
    """A redirect target on this site only (no scheme, no host, no protocol-relative path)."""
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target
