"""Log-in through the province's unified identity platform (issue 15 item 7), tested against a small
local OpenID Connect provider: the code flow logs in an existing active account; an unknown login,
a forged state and an ID token signed with a key the platform never published are refused."""
from __future__ import annotations

from urllib.parse import urlsplit

import pytest
import requests

from engine.config import Config
from web import create_app

from .oidc_provider import CLIENT_ID, CLIENT_SECRET, Provider, new_key


@pytest.fixture
def provider():
    with Provider() as running:
        yield running


@pytest.fixture
def oidc_app(engine, db_file_url, provider):
    config = Config(database_url=db_file_url, secret_key="a-key-for-the-oidc-tests-0123",
                    oidc_issuer=provider.base, oidc_client_id=CLIENT_ID, oidc_client_secret=CLIENT_SECRET)
    return create_app(config, {"TESTING": True, "engine": engine})


def sign_in(client, tamper_state: bool = False):
    """The browser's round trip: govflow → the platform → govflow's callback."""
    start = client.get("/login/oidc?next=/tasks")
    assert start.status_code == 302 and start.headers["Location"].startswith("http://127.0.0.1:")
    back = requests.get(start.headers["Location"], allow_redirects=False, timeout=10)
    assert back.status_code == 302
    callback = urlsplit(back.headers["Location"])
    query = callback.query.replace("state=", "state=x") if tamper_state else callback.query
    return client.get(f"{callback.path}?{query}")


def test_a_person_the_platform_vouches_for_is_logged_in(oidc_app, engine):
    client = oidc_app.test_client()
    assert "统一身份认证" in client.get("/login").get_data(as_text=True)
    answer = sign_in(client)
    assert answer.status_code == 302 and answer.headers["Location"] == "/tasks"
    assert client.get("/tasks").status_code == 200
    with engine.uow() as uow:
        import sqlalchemy as sa
        from engine.models import AuditRecord
        last = uow.session.scalars(sa.select(AuditRecord).where(AuditRecord.action == "login")
                                   .order_by(AuditRecord.id.desc())).first()
    assert last.actor == "clerk.a" and '"via": "oidc"' in last.summary


def test_someone_without_an_account_here_is_not_logged_in(oidc_app, provider):
    provider.user = "stranger"
    client = oidc_app.test_client()
    answer = sign_in(client)
    assert answer.status_code == 302 and answer.headers["Location"].startswith("/login")
    assert client.get("/tasks").status_code == 302
    assert "stranger" in client.get("/login").get_data(as_text=True)


def test_a_forged_state_or_a_token_signed_with_an_unpublished_key_is_refused(oidc_app, provider):
    client = oidc_app.test_client()
    assert sign_in(client, tamper_state=True).headers["Location"].startswith("/login")
    assert client.get("/tasks").status_code == 302
    provider.signing_key = new_key()
    client = oidc_app.test_client()
    assert sign_in(client).headers["Location"].startswith("/login")
    assert client.get("/tasks").status_code == 302


def test_without_a_platform_configured_there_is_no_button_and_no_route(client):
    assert "统一身份认证" not in client.get("/login").get_data(as_text=True)
    assert client.get("/login/oidc").status_code == 404
