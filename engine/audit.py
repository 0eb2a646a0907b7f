"""Append-only, hash-chained audit trail (art. 29: prevent tampering)."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterator

import sqlalchemy as sa
from sqlalchemy.orm import Session

from .models import AuditRecord

GENESIS = "0" * 64
CHAIN_LOCK_KEY = 7_290_029  # pg advisory lock id of the audit chain ("art. 29")
NOTIFY_CHANNEL = "govflow_deadlines"  # workers LISTEN here for new or moved deadlines


@dataclass(frozen=True)
class Entry:
    at: datetime
    actor: str
    action: str
    case_id: int | None = None
    task_id: str | None = None
    summary: dict[str, Any] | None = None


def record_hash(record_id: int, at: datetime, actor: str, case_id, task_id, action: str,
                summary: str, prev_hash: str) -> str:
    payload = json.dumps([record_id, at.isoformat(), actor, case_id, task_id, action, summary, prev_hash],
                         ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def append(session: Session, entries: list[Entry], notify: bool = False) -> None:
    """Append entries to the chain; serialised against other writers until commit.

    ``notify``: also wake the timer workers (PostgreSQL NOTIFY, delivered at commit), in the same
    round trip as the lock.
    """
    postgres = session.get_bind().dialect.name == "postgresql"
    if notify and postgres:
        lock = "SELECT pg_advisory_xact_lock(:k), pg_notify(:c, '')" if entries else "SELECT pg_notify(:c, '')"
        session.execute(sa.text(lock), {"k": CHAIN_LOCK_KEY, "c": NOTIFY_CHANNEL} if entries else {"c": NOTIFY_CHANNEL})
    elif entries and postgres:
        session.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": CHAIN_LOCK_KEY})
    if not entries:
        return
    last = session.execute(sa.select(AuditRecord.id, AuditRecord.hash)
                           .order_by(AuditRecord.id.desc()).limit(1)).first()
    next_id, prev = (last.id + 1, last.hash) if last else (1, GENESIS)
    rows = []
    for entry in entries:
        summary = json.dumps(entry.summary or {}, ensure_ascii=False, sort_keys=True, default=str)
        digest = record_hash(next_id, entry.at, entry.actor, entry.case_id, entry.task_id,
                             entry.action, summary, prev)
        rows.append({"id": next_id, "at": entry.at, "actor": entry.actor, "case_id": entry.case_id,
                     "task_id": entry.task_id, "action": entry.action, "summary": summary,
                     "prev_hash": prev, "hash": digest})
        next_id, prev = next_id + 1, digest
    session.execute(sa.insert(AuditRecord.__table__), rows)  # one multi-row INSERT


@dataclass(frozen=True)
class Finding:
    record_id: int
    problem: str

    def __str__(self) -> str:
        return f"audit record {self.record_id}: {self.problem}"


def verify(session: Session, batch: int = 5000) -> Finding | None:
    """Return the first record that was altered, removed or inserted, or None if the chain holds."""
    expected_id, prev = 1, GENESIS
    for rec in _records(session, batch):
        if rec.id != expected_id:
            return Finding(expected_id, f"missing: the chain jumps from {expected_id - 1} to {rec.id} (removed)")
        if rec.prev_hash != prev:
            return Finding(rec.id, "does not follow the previous record (a record was removed or inserted before it)")
        digest = record_hash(rec.id, rec.at, rec.actor, rec.case_id, rec.task_id, rec.action,
                             rec.summary, rec.prev_hash)
        if digest != rec.hash:
            return Finding(rec.id, "content does not match its hash (altered)")
        expected_id, prev = rec.id + 1, rec.hash
    return None


def _records(session: Session, batch: int) -> Iterator[AuditRecord]:
    last = 0
    while True:
        rows = session.scalars(sa.select(AuditRecord).where(AuditRecord.id > last)
                               .order_by(AuditRecord.id).limit(batch)).all()
        if not rows:
            return
        yield from rows
        last = rows[-1].id
        session.expunge_all()
