"""Over HTTPS the session cookie is Secure and HSTS is sent; behind the configured number of trusted
proxies the client's address and scheme come from X-Forwarded-*, and without any they are ignored."""
from __future__ import annotations

import pytest

from engine.config import Config
from web import create_app
from web.context import client_ip

from .conftest import PASSWORD


def log_in(client, base: str, **headers):
    client.get("/login", base_url=base, headers=headers)
    import re
    page = client.get("/login", base_url=base, headers=headers).get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    return client.post("/login", base_url=base, headers={**headers, "Referer": f"{base}/login"},
                       data={"csrf_token": token, "login": "clerk.a", "password": PASSWORD})


def test_over_https_the_cookie_is_secure_and_hsts_is_sent(app):
    client = app.test_client()
    answer = log_in(client, "https://gov.example")
    assert answer.status_code == 302
    cookie = client.get_cookie("session", domain="gov.example")
    assert cookie.secure and cookie.http_only
    assert answer.headers["Strict-Transport-Security"].startswith("max-age=31536000")


def test_over_plain_http_neither(app):
    client = app.test_client()
    answer = log_in(client, "http://localhost")
    assert "Strict-Transport-Security" not in answer.headers
    assert not client.get_cookie("session").secure


def make_app(engine, db_file_url, proxies: int):
    return create_app(Config(database_url=db_file_url, secret_key="a-key-for-the-transport-tests", trusted_proxies=proxies),
                      {"TESTING": True, "engine": engine})


@pytest.mark.parametrize("proxies, seen, secure", [(0, "127.0.0.1", False), (1, "203.0.113.9", True)])
def test_forwarded_headers_count_only_behind_trusted_proxies(engine, db_file_url, proxies, seen, secure):
    app = make_app(engine, db_file_url, proxies)
    forwarded = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"}
    seen_by_view = {}

    @app.after_request
    def probe(response):  # ProxyFix is WSGI middleware: look at what a real request sees
        from flask import request
        seen_by_view.update(ip=client_ip(), secure=request.is_secure)
        return response

    app.test_client().get("/healthz", headers=forwarded, environ_base={"REMOTE_ADDR": "127.0.0.1"})
    assert seen_by_view == {"ip": seen, "secure": secure}


def test_a_bad_number_of_trusted_proxies_is_refused():
    with pytest.raises(ValueError, match="GOVFLOW_TRUSTED_PROXIES"):
        Config.from_env({"GOVFLOW_TRUSTED_PROXIES": "all", "GOVFLOW_SECRET_KEY": "x" * 32})
    assert Config.from_env({"GOVFLOW_TRUSTED_PROXIES": "2", "GOVFLOW_SECRET_KEY": "x" * 32}).trusted_proxies == 2
