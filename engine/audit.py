"""Append-only, hash-chained audit trail (art. 29: prevent tampering)."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterator

import sqlalchemy as sa
from sqlalchemy.orm import Session

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from .models import AuditChainHead, AuditRecord

GENESIS = "0" * 64
HEAD_ID = 1  # the one row of audit_chain_head
CTE_ROWS = 8  # up to this many records (a clerk's unit of work) go in one statement with the head
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

    The chain's head row is read ``FOR UPDATE`` (the lock and the last hash in one round trip; a
    second appender waits there and then reads the head the first one committed); the records and
    the new head are written in one more (PostgreSQL, up to ``CTE_ROWS`` records: the head's UPDATE
    rides in a CTE of the INSERT). SQLite holds the database's write lock already (BEGIN IMMEDIATE). ``notify``: also wake
    the timer workers (PostgreSQL NOTIFY, delivered at commit), in the same round trip as the lock.
    """
    postgres = session.get_bind().dialect.name == "postgresql"
    if not entries:
        if notify and postgres:
            session.execute(sa.text("SELECT pg_notify(:c, '')"), {"c": NOTIFY_CHANNEL})
        return
    last_id, prev = _lock_head(session, postgres, notify)
    next_id, rows = last_id + 1, []
    for entry in entries:
        summary = json.dumps(entry.summary or {}, ensure_ascii=False, sort_keys=True, default=str)
        digest = record_hash(next_id, entry.at, entry.actor, entry.case_id, entry.task_id,
                             entry.action, summary, prev)
        rows.append({"id": next_id, "at": entry.at, "actor": entry.actor, "case_id": entry.case_id,
                     "task_id": entry.task_id, "action": entry.action, "summary": summary,
                     "prev_hash": prev, "hash": digest})
        next_id, prev = next_id + 1, digest
    head = AuditChainHead.__table__
    moved = sa.update(head).where(head.c.id == HEAD_ID).values(last_id=rows[-1]["id"], last_hash=prev)
    if postgres and len(rows) <= CTE_ROWS:
        session.execute(sa.insert(AuditRecord.__table__).values(rows).add_cte(moved.cte("moved")))
    else:  # a multi-row VALUES costs compiling per row: a batch of timer firings uses executemany
        session.execute(sa.insert(AuditRecord.__table__), rows)
        session.execute(moved)


def _lock_head(session: Session, postgres: bool, notify: bool) -> tuple[int, str]:
    """(last id, last hash) of the chain, its head row locked until commit."""
    head = AuditChainHead.__table__
    columns = [head.c.last_id, head.c.last_hash]
    if notify and postgres:
        columns.append(sa.func.pg_notify(NOTIFY_CHANNEL, ""))
    query = sa.select(*columns).where(head.c.id == HEAD_ID)
    if postgres:
        query = query.with_for_update()
    row = session.execute(query).first()
    if row is None:  # a database created without the migration that seeds the head
        last = session.execute(sa.select(AuditRecord.id, AuditRecord.hash)
                               .order_by(AuditRecord.id.desc()).limit(1)).first()
        insert = (pg_insert if postgres else sqlite_insert)(head).values(
            id=HEAD_ID, last_id=last.id if last else 0, last_hash=last.hash if last else GENESIS)
        session.execute(insert.on_conflict_do_nothing(index_elements=["id"]))
        row = session.execute(query).first()
    return row[0], row[1]


@dataclass(frozen=True)
class Finding:
    record_id: int
    problem: str

    def __str__(self) -> str:
        return f"audit record {self.record_id}: {self.problem}"


def verify(session: Session, batch: int = 5000) -> Finding | None:
    """Return the first record that was altered, removed or inserted, or None if the chain holds.

    The chain is checked up to its head as read first (records appended meanwhile are left for the
    next run); reaching the head proves nothing was cut off the end, unless the head row was
    rewritten as well.
    """
    head = session.execute(sa.select(AuditChainHead.last_id, AuditChainHead.last_hash)
                           .where(AuditChainHead.id == HEAD_ID)).first()
    expected_id, prev = 1, GENESIS
    for rec in _records(session, batch, head.last_id if head is not None else None):
        if rec.id != expected_id:
            return Finding(expected_id, f"missing: the chain jumps from {expected_id - 1} to {rec.id} (removed)")
        if rec.prev_hash != prev:
            return Finding(rec.id, "does not follow the previous record (a record was removed or inserted before it)")
        digest = record_hash(rec.id, rec.at, rec.actor, rec.case_id, rec.task_id, rec.action,
                             rec.summary, rec.prev_hash)
        if digest != rec.hash:
            return Finding(rec.id, "content does not match its hash (altered)")
        expected_id, prev = rec.id + 1, rec.hash
    if head is not None and (head.last_id, head.last_hash) != (expected_id - 1, prev):
        if head.last_id > expected_id - 1:
            return Finding(expected_id, f"missing: the chain ends at {expected_id - 1} but its head says "
                                        f"{head.last_id} (records removed from the end)")
        return Finding(head.last_id, "the chain's head does not match its last record (altered)")
    return None


def _records(session: Session, batch: int, up_to: int | None = None) -> Iterator[AuditRecord]:
    last = 0
    while True:
        query = sa.select(AuditRecord).where(AuditRecord.id > last)
        if up_to is not None:
            query = query.where(AuditRecord.id <= up_to)
        rows = session.scalars(query.order_by(AuditRecord.id).limit(batch)).all()
        if not rows:
            return
        yield from rows
        last = rows[-1].id
        session.expunge_all()
