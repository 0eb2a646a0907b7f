"""Response headers: no framing, no sniffing, only this site's scripts and styles, no caching of
pages that show someone's cases; over HTTPS, HSTS and session cookies marked ``Secure``.

Behind reverse proxies (``GOVFLOW_TRUSTED_PROXIES`` = how many), werkzeug's ``ProxyFix`` takes the
client's address, scheme and host from the ``X-Forwarded-*`` headers those proxies set, so rate
limits count the client and HTTPS is recognised; with none trusted the headers are ignored (a client
could forge them).
"""
from __future__ import annotations

from flask import request
from flask.sessions import SecureCookieSessionInterface
from flask_login import current_user
from werkzeug.middleware.proxy_fix import ProxyFix

HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; object-src 'none'; "
                               "base-uri 'self'; form-action 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}
CACHEABLE = {"static", "vendor.asset"}  # files the same for everyone
HSTS = "max-age=31536000; includeSubDomains"  # a year; sent over HTTPS only


class SessionInterface(SecureCookieSessionInterface):
    """The session cookie is ``Secure`` whenever the request came over HTTPS (or always, with
    ``GOVFLOW_SECURE_COOKIES=1``)."""

    def get_cookie_secure(self, app) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"]) or (request and request.is_secure)


def init_app(app, trusted_proxies: int = 0) -> None:
    app.session_interface = SessionInterface()
    app.config["REMEMBER_COOKIE_SECURE"] = app.config.get("SESSION_COOKIE_SECURE", False)
    if trusted_proxies:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=trusted_proxies, x_proto=trusted_proxies,
                                x_host=trusted_proxies, x_port=trusted_proxies, x_prefix=trusted_proxies)
    app.after_request(add_headers)


def add_headers(response):
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    if request.is_secure:
        response.headers.setdefault("Strict-Transport-Security", HSTS)
    if request.endpoint not in CACHEABLE and current_user.is_authenticated:
        response.headers["Cache-Control"] = "no-store"
    return response
