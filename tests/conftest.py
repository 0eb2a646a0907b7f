"""Shared fixtures: databases (SQLite file, PostgreSQL schema per test), clock, engine."""
from __future__ import annotations

import os
import uuid
from datetime import datetime, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa

from engine.clock import FrozenClock
from engine.config import Config
from engine.db import create_db_engine, create_session_factory
from engine.migrate import upgrade
from engine.procedures import Procedure
from engine.service import Engine

# The tests run as a development machine (a secret key made once in the instance folder); the tests
# of the rule itself pass their own environment (tests/unit/test_secret_key.py).
os.environ.setdefault("GOVFLOW_ENV", "development")
# One audit key for every process the tests start (engines, servers, the CLI), whatever their secret.
os.environ.setdefault("GOVFLOW_AUDIT_KEY", "tests-audit-key-shared-by-every-process-0123456789")
FIXTURES = Path(__file__).parent / "fixtures"
PG_URL = os.environ.get("GOVFLOW_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() == "true"


def _pg_reachable() -> str | None:
    try:
        eng = sa.create_engine(PG_URL)
        with eng.connect() as conn:
            conn.execute(sa.text("select 1"))
        eng.dispose()
        return None
    except Exception as exc:  # noqa: BLE001 - any failure means "not reachable"
        return f"{type(exc).__name__}: {exc}"


_PG_PROBLEM = _pg_reachable()


def require_postgres() -> None:
    """Fail in CI, skip locally with the reason, when the PostgreSQL server is unreachable."""
    if _PG_PROBLEM is None:
        return
    message = f"PostgreSQL at {PG_URL} is unreachable ({_PG_PROBLEM})"
    if IN_CI:
        pytest.fail(message + " — in CI the PostgreSQL tier must run")
    pytest.skip(message + " — start it or set GOVFLOW_TEST_PG_URL")


def new_pg_schema_url() -> tuple[str, str]:
    """Create a private schema and return a URL whose connections use it."""
    require_postgres()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    sep = "&" if "?" in PG_URL else "?"
    return f"{PG_URL}{sep}options=-csearch_path%3D{schema}", schema


def drop_pg_schema(schema: str) -> None:
    admin = sa.create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request, tmp_path):
    """A migrated, empty database: a SQLite file, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'govflow.sqlite3'}"
        schema = None
    else:
        url, schema = new_pg_schema_url()
    db = create_db_engine(url)
    upgrade(db)
    db.dispose()
    yield url
    if schema:
        drop_pg_schema(schema)


@pytest.fixture
def pg_url():
    url, schema = new_pg_schema_url()
    db = create_db_engine(url)
    upgrade(db)
    db.dispose()
    yield url
    drop_pg_schema(schema)


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch):
    """Tests create many people: hash at argon2's lowest cost (≈0.4 s each at the production cost).

    Still argon2id, so tests of authentication check the real algorithm."""
    from argon2 import PasswordHasher
    from engine.domain import org
    monkeypatch.setattr(org, "_hasher", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))


@pytest.fixture
def clock():
    return FrozenClock(datetime(2026, 3, 2, 1, 0, tzinfo=timezone.utc))  # Mon 09:00 Beijing


def review_loop_procedure() -> Procedure:
    """Script functions of the engine's own test diagram (tests/fixtures/review_loop.bpmn)."""
    return Procedure("review_loop", {
        "is_returned": lambda ctx, decision: decision == "return",
        "record_approval": lambda ctx, summary: f"approved:{summary}",
    }, resolve_department=None)


def make_engine(url: str, clock, procedures=None, **config) -> Engine:
    cfg = Config(database_url=url, **config)
    db = create_db_engine(url)
    engine = Engine(cfg, create_session_factory(db), clock,
                    procedures if procedures is not None else {"review_loop": review_loop_procedure()})
    engine.db_engine = db
    return engine


@pytest.fixture
def engine(db_url, clock):
    eng = make_engine(db_url, clock)
    eng.deploy((FIXTURES / "review_loop.bpmn").read_bytes())
    yield eng
    eng.db_engine.dispose()
