"""Append-only, keyed and anchored audit trail (art. 29: prevent tampering).

Each record names the one before it (``prev_hash``) and is authenticated:

* records after the chain's **seal** with HMAC-SHA256 under the audit key, which is kept outside the
  database (``engine.audit_keys``), the key named by ``key_id``;
* records up to the seal, written before keys existed, by their plain SHA-256 hash. The seal
  (``audit_chain_head.sealed_id/sealed_hash``) was set when migration 0017 upgraded the database.

``checkpoint`` signs the head and the seal (Ed25519); ``verify`` checks the chain against the keys
and against every checkpoint it is given or the database keeps. A re-hashed chain, a forged head and
a seal moved to hide a rewritten past are all found.
"""
from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterator

import sqlalchemy as sa
from sqlalchemy.orm import Session

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from .audit_keys import AuditKeys, key_id as fingerprint, verify_signature
from .metrics import AUDIT_APPENDS
from .models import AuditChainHead, AuditCheckpoint, AuditRecord

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


def _payload(record_id: int, at: datetime, actor: str, case_id, task_id, action: str, summary: str,
             prev_hash: str) -> bytes:
    return json.dumps([record_id, at.isoformat(), actor, case_id, task_id, action, summary, prev_hash],
                      ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def record_hash(record_id: int, at: datetime, actor: str, case_id, task_id, action: str,
                summary: str, prev_hash: str) -> str:
    """The unkeyed hash of a record written before the seal."""
    return hashlib.sha256(_payload(record_id, at, actor, case_id, task_id, action, summary, prev_hash)).hexdigest()


def record_mac(key: bytes, record_id: int, at: datetime, actor: str, case_id, task_id, action: str,
               summary: str, prev_hash: str) -> str:
    """The keyed hash (HMAC-SHA256) of a record written after the seal."""
    return hmac.new(key, _payload(record_id, at, actor, case_id, task_id, action, summary, prev_hash),
                    hashlib.sha256).hexdigest()


def append(session: Session, entries: list[Entry], notify: bool = False, key: bytes | None = None) -> None:
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
    AUDIT_APPENDS.inc(len(entries))
    last_id, prev = _lock_head(session, postgres, notify)
    next_id, rows = last_id + 1, []
    kid = fingerprint(key) if key else None
    for entry in entries:
        summary = json.dumps(entry.summary or {}, ensure_ascii=False, sort_keys=True, default=str)
        fields = (next_id, entry.at, entry.actor, entry.case_id, entry.task_id, entry.action, summary, prev)
        digest = record_mac(key, *fields) if key else record_hash(*fields)
        rows.append({"id": next_id, "at": entry.at, "actor": entry.actor, "case_id": entry.case_id,
                     "task_id": entry.task_id, "action": entry.action, "summary": summary,
                     "prev_hash": prev, "hash": digest, "key_id": kid})
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


def verify(session: Session, keys: AuditKeys | None = None, checkpoints: list[dict] | None = None,
           batch: int = 5000) -> Finding | None:
    """Return the first record that was altered, removed or inserted, or None if the chain holds.

    Records up to the seal must match their plain hash, records after it their MAC under the key
    they name (``keys``: the installation's current and old keys); the seal must be where it was;
    every checkpoint (``checkpoints`` given, and those the database keeps) must carry a valid
    signature and name a record the chain still holds with the same hash, and the same seal. The
    chain is checked up to its head as read first (records appended meanwhile are left for the next
    run); reaching the head proves nothing was cut off the end, unless the head was forged as well,
    which a later checkpoint contradicts.
    """
    keys = keys or AuditKeys(None)
    head = session.execute(sa.select(AuditChainHead.last_id, AuditChainHead.last_hash, AuditChainHead.sealed_id,
                                     AuditChainHead.sealed_hash).where(AuditChainHead.id == HEAD_ID)).first()
    sealed_id = head.sealed_id if head is not None and head.sealed_id is not None else None
    stored = [c.as_dict() for c in session.scalars(sa.select(AuditCheckpoint).order_by(AuditCheckpoint.id))]
    marks = {}
    for number, point in enumerate([*(checkpoints or []), *stored], 1):
        problem = _checkpoint_problem(point, keys, head)
        if problem:
            return Finding(int(point.get("last_id") or 0), f"checkpoint {number}: {problem}")
        marks.setdefault(int(point["last_id"]), set()).add(point["last_hash"])
    expected_id, prev = 1, GENESIS
    for rec in _records(session, batch, head.last_id if head is not None else None):
        if rec.id != expected_id:
            return Finding(expected_id, f"missing: the chain jumps from {expected_id - 1} to {rec.id} (removed)")
        if rec.prev_hash != prev:
            return Finding(rec.id, "does not follow the previous record (a record was removed or inserted before it)")
        fields = (rec.id, rec.at, rec.actor, rec.case_id, rec.task_id, rec.action, rec.summary, rec.prev_hash)
        if sealed_id is not None and rec.id <= sealed_id:
            if rec.key_id is not None or record_hash(*fields) != rec.hash:
                return Finding(rec.id, "content does not match its hash (altered)")
            if rec.id == sealed_id and rec.hash != head.sealed_hash:
                return Finding(rec.id, "the seal does not match the record it seals (the past was rewritten)")
        else:
            if rec.key_id is None:
                return Finding(rec.id, "written without the audit key after the seal (forged, or the key was unset)")
            key = keys.by_id.get(rec.key_id)
            if key is None:
                return Finding(rec.id, f"authenticated with audit key {rec.key_id}, which this installation does "
                                       "not hold (add it to GOVFLOW_AUDIT_OLD_KEYS)")
            if not hmac.compare_digest(record_mac(key, *fields), rec.hash):
                return Finding(rec.id, "content does not match its authentication code (altered)")
        if rec.id in marks and marks.pop(rec.id) != {rec.hash}:
            return Finding(rec.id, "differs from a signed checkpoint (the chain was rewritten)")
        expected_id, prev = rec.id + 1, rec.hash
    if marks:
        missing = min(marks)
        return Finding(missing, f"missing: a signed checkpoint names record {missing}, the chain ends at "
                                f"{expected_id - 1} (records removed from the end, head forged)")
    if head is not None and (head.last_id, head.last_hash) != (expected_id - 1, prev):
        if head.last_id > expected_id - 1:
            return Finding(expected_id, f"missing: the chain ends at {expected_id - 1} but its head says "
                                        f"{head.last_id} (records removed from the end)")
        return Finding(head.last_id, "the chain's head does not match its last record (altered)")
    return None


def checkpoint_payload(point: dict) -> bytes:
    """What a checkpoint's signature covers."""
    fields = ("at", "last_id", "last_hash", "sealed_id", "sealed_hash", "key_id")
    return json.dumps({k: point.get(k) for k in fields}, sort_keys=True, separators=(",", ":")).encode()


def _checkpoint_problem(point: dict, keys: AuditKeys, head) -> str | None:
    kid = point.get("key_id")
    if kid not in keys.by_id:
        return f"signed with audit key {kid}, which this installation does not hold"
    if point.get("public_key") not in (None, keys.public_key(kid)):
        return "its public key is not this installation's"
    if not verify_signature(keys.public_key(kid), point.get("signature") or "", checkpoint_payload(point)):
        return "the signature is not valid (forged or altered)"
    if head is None or (point.get("sealed_id"), point.get("sealed_hash")) != (head.sealed_id, head.sealed_hash):
        return "the chain's seal moved since (the past was rewritten)"
    return None


def checkpoint(session: Session, keys: AuditKeys, at: datetime) -> dict:
    """Sign the chain's head and seal now (Ed25519), keep the checkpoint in the database and return
    it to be stored elsewhere too (a file, another machine)."""
    if keys.current is None:
        raise LookupError("no audit key is configured (GOVFLOW_AUDIT_KEY or GOVFLOW_SECRET_KEY)")
    head = session.execute(sa.select(AuditChainHead).where(AuditChainHead.id == HEAD_ID)).scalar_one()
    point = {"at": at.isoformat(), "last_id": head.last_id, "last_hash": head.last_hash,
             "sealed_id": head.sealed_id, "sealed_hash": head.sealed_hash, "key_id": keys.current_id}
    point["signature"] = keys.signing_key().sign(checkpoint_payload(point)).hex()
    point["public_key"] = keys.public_key()
    session.add(AuditCheckpoint(at=at, last_id=head.last_id, last_hash=head.last_hash, sealed_id=head.sealed_id,
                                sealed_hash=head.sealed_hash, key_id=point["key_id"], signature=point["signature"]))
    return point


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
