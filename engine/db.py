"""Database engine and session factory for SQLite (embedded default) and PostgreSQL."""
from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import sessionmaker


SQLITE_BUSY_TIMEOUT = 30.0  # seconds a SQLite transaction waits for another's lock


def create_db_engine(url: str, echo: bool = False) -> sa.Engine:
    """Create the SQLAlchemy engine; SQLite gets WAL, a busy timeout and immediate write locks (the
    URL's ``?timeout=`` sets the busy timeout in seconds, e.g. ``sqlite:///govflow.sqlite3?timeout=0.5``
    for a test that must fail rather than wait)."""
    if url.startswith("sqlite"):
        return _sqlite_engine(url, echo)
    return sa.create_engine(url, echo=echo, pool_pre_ping=True, pool_size=10, max_overflow=20)


READ_ONLY = "govflow_read_only"  # execution option of a unit of work that never writes


def _sqlite_engine(url: str, echo: bool) -> sa.Engine:
    parsed = sa.engine.make_url(url)
    database = parsed.database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    timeout = float(parsed.query.get("timeout", SQLITE_BUSY_TIMEOUT))
    engine = sa.create_engine(url, echo=echo, connect_args={"timeout": timeout})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # Take transaction control from pysqlite so that BEGIN IMMEDIATE below is honoured.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(timeout * 1000)}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        # Writers queue on the database lock up front instead of failing on a stale snapshot.
        # A unit of work that only reads (READ_ONLY) reads its WAL snapshot without waiting for
        # a writer: pages, the health check and the inbox stay served while a case runs.
        if connection.get_execution_options().get(READ_ONLY):
            connection.exec_driver_sql("BEGIN")
        else:
            connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def create_session_factory(engine: sa.Engine) -> sessionmaker:
    return sessionmaker(bind=engine, expire_on_commit=False)
