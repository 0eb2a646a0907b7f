"""Personal API tokens on every backend: only a digest is kept, a token finds its person until it is
revoked or the person deactivated, use is noted (not on every request), and the migration matches."""
from __future__ import annotations

import hashlib

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from engine.domain import api_tokens, org
from engine.errors import InvalidForm, NotFound
from engine.models import AuditRecord, Base
from tests.conftest import make_engine


@pytest.fixture
def eng(db_url, clock):
    engine = make_engine(db_url, clock)
    with engine.uow() as uow:
        dept = org.create_department(uow.session, "340822101", "县公安局", "county_department")
        for login in ("clerk1", "clerk2"):
            org.create_person(uow.session, login, login, dept, {"provider_clerk"}, "pass-word-1", clock.now())
        uow.commit()
    yield engine
    engine.db_engine.dispose()


def create(eng, login: str, name: str = "大数据中心") -> tuple[int, str]:
    with eng.uow() as uow:
        row, secret = api_tokens.create_token(uow, org.person_by_login(uow.session, login), name, eng.clock.now())
        uow.commit()
        return row.id, secret


def who(eng, secret: str) -> str | None:
    with eng.uow() as uow:
        person = api_tokens.authenticate(uow, secret, eng.clock.now())
        uow.commit()
        return person.login if person else None


def test_a_token_finds_its_person_until_revoked(eng, clock):
    token_id, secret = create(eng, "clerk1")
    with eng.uow() as uow:
        row = uow.session.get(api_tokens.ApiToken, token_id)
        assert row.token_hash == hashlib.sha256(secret.encode()).hexdigest() and secret.startswith(row.prefix + "_")
    assert who(eng, secret) == "clerk1"
    assert who(eng, secret[:-1] + ("A" if secret[-1] != "A" else "B")) is None
    assert who(eng, "gft_0000_short") is None and who(eng, "") is None

    with eng.uow() as uow, pytest.raises(NotFound):
        api_tokens.revoke_token(uow, org.person_by_login(uow.session, "clerk2"), token_id, clock.now())
    with eng.uow() as uow:
        api_tokens.revoke_token(uow, org.person_by_login(uow.session, "clerk1"), token_id, clock.now())
        uow.commit()
    assert who(eng, secret) is None
    with eng.uow() as uow:
        actions = list(uow.session.scalars(sa.select(AuditRecord.action).order_by(AuditRecord.id)))
        assert actions == ["api_token_created", "api_token_revoked"]
        assert all(secret not in s for s in uow.session.scalars(sa.select(AuditRecord.summary)))
    assert eng.verify_audit() is None


def test_use_is_noted_once_a_minute_and_a_deactivated_person_is_refused(eng, clock):
    token_id, secret = create(eng, "clerk1")
    first = clock.now()
    assert who(eng, secret) == "clerk1"
    clock.advance(seconds=30)
    assert who(eng, secret) == "clerk1"

    def last_used():
        with eng.uow() as uow:
            return uow.session.get(api_tokens.ApiToken, token_id).last_used_at
    assert last_used() == first
    clock.advance(seconds=31)
    who(eng, secret)
    assert last_used() == clock.now()

    with eng.uow() as uow:
        org.person_by_login(uow.session, "clerk1").active = False
        uow.commit()
    assert who(eng, secret) is None


def test_a_token_needs_a_short_name(eng):
    for name in ("", "  ", "x" * (api_tokens.MAX_NAME + 1)):
        with pytest.raises(InvalidForm):
            create(eng, "clerk1", name)
    assert create(eng, "clerk1", "  网上  办事平台 ")[0]
    with eng.uow() as uow:
        assert [t.name for t in api_tokens.active_tokens(uow.session, 1)] == ["网上 办事平台"]


def test_the_migration_matches_the_model(db_url):
    only_mine = {"include_object": lambda obj, name, kind, reflected, other:
                 (name if kind == "table" else getattr(getattr(obj, "table", None), "name", None)) == "api_token"}
    db = sa.create_engine(db_url)
    with db.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn, opts=only_mine), Base.metadata) == []
    db.dispose()
