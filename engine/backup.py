"""Backup and restore of the whole installation's database (issue 15): ``govflow backup FILE`` and
``govflow restore FILE``.

* SQLite: Python's online backup API (a consistent copy while the app and workers keep writing);
  restore copies the backup over the database the same way, in one step.
* PostgreSQL: ``pg_dump --format=custom`` and ``pg_restore --clean --if-exists --single-transaction``
  (the client tools of the server's version); a URL that pins a schema (``options=-csearch_path=…``)
  dumps and restores that schema only.

A restore is followed by ``govflow audit verify`` (the command does it): a backup taken from a
tampered database, or one that does not match the audit keys, is reported at once.
"""
from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
from pathlib import Path
from urllib.parse import unquote

import sqlalchemy as sa


class BackupError(RuntimeError):
    pass


def backup(url: str, out: Path) -> Path:
    """Write a consistent copy of the database at ``url`` to ``out``; return it."""
    parsed = sa.engine.make_url(url)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if parsed.get_backend_name() == "sqlite":
        with sqlite3.connect(_sqlite_path(parsed)) as source, sqlite3.connect(out) as target:
            source.backup(target)
        return out
    if parsed.get_backend_name() == "postgresql":
        schema = _schema(parsed)
        _run(["pg_dump", "--format=custom", "--no-owner", "--file", str(out), *(["--schema", schema] if schema else []),
              *_pg_args(parsed)], parsed)
        return out
    raise BackupError(f"cannot back up a {parsed.get_backend_name()} database")


def restore(url: str, source: Path) -> None:
    """Replace the database at ``url`` with the backup ``source`` (stop the web processes and the
    workers first)."""
    parsed, source = sa.engine.make_url(url), Path(source)
    if not source.is_file():
        raise BackupError(f"no backup at {source}")
    if parsed.get_backend_name() == "sqlite":
        with sqlite3.connect(source) as backup_db:
            if backup_db.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
                raise BackupError(f"{source} is not an intact SQLite database")
            with sqlite3.connect(_sqlite_path(parsed)) as target:
                backup_db.backup(target)
        return
    if parsed.get_backend_name() == "postgresql":
        schema = _schema(parsed)
        _run(["pg_restore", "--clean", "--if-exists", "--no-owner", "--single-transaction", "--exit-on-error",
              *(["--schema", schema] if schema else []), *_pg_args(parsed), str(source)], parsed)
        return
    raise BackupError(f"cannot restore a {parsed.get_backend_name()} database")


def _sqlite_path(parsed) -> str:
    if not parsed.database or parsed.database == ":memory:":
        raise BackupError("an in-memory SQLite database has nothing to back up")
    return parsed.database


def _schema(parsed) -> str | None:
    options = unquote(str(parsed.query.get("options", "")))
    found = re.search(r"search_path=([A-Za-z_][A-Za-z0-9_]*)", options)
    return found.group(1) if found else None


def _pg_args(parsed) -> list[str]:
    args = ["--dbname", parsed.database or "postgres"]
    if parsed.host:
        args += ["--host", parsed.host]
    if parsed.port:
        args += ["--port", str(parsed.port)]
    if parsed.username:
        args += ["--username", parsed.username]
    return args


def _run(command: list[str], parsed) -> None:
    if shutil.which(command[0]) is None:
        raise BackupError(f"{command[0]} is not installed (PostgreSQL's client tools)")
    env = dict(os.environ, PGPASSWORD=parsed.password or os.environ.get("PGPASSWORD", ""))
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=3600)
    if done.returncode != 0:
        raise BackupError(f"{command[0]} failed: {done.stderr.strip()[-2000:]}")
