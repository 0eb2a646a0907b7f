"""Response headers: no framing, no sniffing, only this site's scripts and styles, no caching of
pages that show someone's cases."""
from __future__ import annotations

from flask import request
from flask_login import current_user

HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; object-src 'none'; "
                               "base-uri 'self'; form-action 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}
CACHEABLE = {"static", "vendor.asset"}  # files the same for everyone


def init_app(app) -> None:
    app.after_request(add_headers)


def add_headers(response):
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    if request.endpoint not in CACHEABLE and current_user.is_authenticated:
        response.headers["Cache-Control"] = "no-store"
    return response
