"""Backup and restore (issue 15 item 7): ``govflow backup`` / ``govflow restore`` on SQLite (online
backup API) and PostgreSQL (pg_dump / pg_restore); after a restore the database is the backup's and
its audit chain verifies."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa

from engine import audit
from engine.models import AuditRecord
from tests.conftest import make_engine

REPO = Path(__file__).resolve().parents[2]


def govflow(url: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", "from engine.cli import main; main()", *args], cwd=REPO,
                          env=dict(os.environ, GOVFLOW_DATABASE_URL=url), capture_output=True, text=True,
                          timeout=300)


def write(engine, n: int, what: str) -> None:
    for i in range(n):
        with engine.uow() as uow:
            uow.record(audit.Entry(engine.clock.now(), "clerk1", "comment_added", None, None, {"what": what, "n": i}))
            uow.commit()


def summaries(engine) -> list[str]:
    with engine.uow() as uow:
        return list(uow.session.scalars(sa.select(AuditRecord.summary).order_by(AuditRecord.id)))


def test_a_backup_restores_what_was_there_and_its_audit_chain_verifies(db_url, clock, tmp_path):
    engine = make_engine(db_url, clock)
    write(engine, 3, "before")
    kept = summaries(engine)
    made = govflow(db_url, "backup", str(tmp_path / "govflow.backup"))
    assert made.returncode == 0 and (tmp_path / "govflow.backup").stat().st_size > 0, made.stderr
    write(engine, 2, "after the backup")
    assert len(summaries(engine)) == 5
    engine.db_engine.dispose()
    back = govflow(db_url, "restore", "--yes", str(tmp_path / "govflow.backup"))
    assert back.returncode == 0 and "audit chain intact" in back.stdout, back.stderr + back.stdout
    engine = make_engine(db_url, clock)
    assert summaries(engine) == kept
    assert engine.verify_audit() is None
    write(engine, 1, "after the restore")  # the chain goes on from the restored head
    assert engine.verify_audit() is None
    engine.db_engine.dispose()


def test_restoring_something_that_is_not_a_backup_changes_nothing(db_url, clock, tmp_path):
    engine = make_engine(db_url, clock)
    write(engine, 2, "kept")
    junk = tmp_path / "junk.backup"
    junk.write_bytes(b"not a database at all" * 100)
    refused = govflow(db_url, "restore", "--yes", str(junk))
    assert refused.returncode != 0 and "Error" in refused.stderr
    assert len(summaries(engine)) == 2 and engine.verify_audit() is None
    engine.db_engine.dispose()
