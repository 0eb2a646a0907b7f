"""A keyed, anchored audit chain (issue 15 item 5, art. 29), on SQLite and PostgreSQL: records after
the seal are MACed with a key outside the database, so altering one and re-hashing the rest is found;
the unkeyed past is checked by hash up to the seal; signed checkpoints find a forged head and a moved
seal; the key can be rotated."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from engine import audit
from engine.audit_keys import AuditKeys, key_id
from engine.models import AuditChainHead, AuditRecord
from engine.uow import Actor
from tests.conftest import make_engine

KEY_A = "audit-key-A-" + "a" * 40
KEY_B = "audit-key-B-" + "b" * 40
CLERK = Actor("clerk1", frozenset({"provider_clerk"}), "D1")
REPO = Path(__file__).resolve().parents[2]


def write(engine, n: int, action: str = "comment_added") -> None:
    for i in range(n):
        with engine.uow() as uow:
            uow.record(audit.Entry(engine.clock.now(), "clerk1", action, None, None, {"n": i}))
            uow.commit()


def records(engine) -> list[AuditRecord]:
    with engine.uow() as uow:
        found = list(uow.session.scalars(sa.select(AuditRecord).order_by(AuditRecord.id)))
        uow.session.expunge_all()
        return found


def rehash_from(engine, start: int, key: bytes | None = None, key_name: str | None = None) -> None:
    """What an attacker with database access does: recompute every record from ``start`` on and the
    head, with the plain hash (or a key of their own)."""
    with engine.uow() as uow:
        s = uow.session
        rows = list(s.scalars(sa.select(AuditRecord).order_by(AuditRecord.id)))
        prev = audit.GENESIS
        for rec in rows:
            if rec.id >= start:
                rec.prev_hash = prev
                fields = (rec.id, rec.at, rec.actor, rec.case_id, rec.task_id, rec.action, rec.summary, rec.prev_hash)
                rec.hash = audit.record_mac(key, *fields) if key else audit.record_hash(*fields)
                rec.key_id = key_name
            prev = rec.hash
        s.execute(sa.update(AuditChainHead).values(last_id=rows[-1].id, last_hash=prev))
        s.commit()


@pytest.fixture
def eng(db_url, clock):
    engine = make_engine(db_url, clock, audit_key=KEY_A)
    yield engine
    engine.db_engine.dispose()


def test_records_are_authenticated_with_the_key_they_name(eng):
    write(eng, 3)
    assert {r.key_id for r in records(eng)} == {key_id(KEY_A.encode())}
    assert eng.verify_audit() is None


def test_altering_a_record_and_rehashing_the_rest_is_found(eng):
    write(eng, 5)
    with eng.uow() as uow:
        uow.session.execute(sa.update(AuditRecord).where(AuditRecord.id == 3).values(summary='{"n": 99}'))
        uow.session.commit()
    rehash_from(eng, 3, KEY_B.encode(), key_id(KEY_A.encode()))  # a guessed key under the right name
    assert "authentication code" in str(eng.verify_audit())
    rehash_from(eng, 3)  # plain hashes, as the old unkeyed chain had
    assert "without the audit key" in str(eng.verify_audit())
    rehash_from(eng, 3, KEY_B.encode(), key_id(KEY_B.encode()))  # a key of the attacker's own
    assert "does not hold" in str(eng.verify_audit())


def test_the_unkeyed_past_is_checked_by_hash_up_to_the_seal(db_url, clock):
    legacy = make_engine(db_url, clock, audit_key=None, secret_key=None)  # a database from before keys
    write(legacy, 3)
    with legacy.uow() as uow:  # what migration 0017 does to it
        uow.session.execute(sa.update(AuditChainHead).values(sealed_id=AuditChainHead.last_id,
                                                             sealed_hash=AuditChainHead.last_hash))
        uow.session.commit()
    legacy.db_engine.dispose()
    eng = make_engine(db_url, clock, audit_key=KEY_A)
    write(eng, 2)
    assert [r.key_id is None for r in records(eng)] == [True, True, True, False, False]
    assert eng.verify_audit() is None
    point = eng.audit_checkpoint()
    assert (point["sealed_id"], point["last_id"]) == (3, 5)
    with eng.uow() as uow:  # rewrite the past and move the seal to match (the keyed part untouched)
        uow.session.execute(sa.update(AuditRecord).where(AuditRecord.id == 2).values(actor="someone-else"))
        uow.session.commit()
    rehash_from(eng, 2)
    found = str(eng.verify_audit())
    assert "seal" in found or "does not follow" in found or "without the audit key" in found, found
    eng.db_engine.dispose()


def test_a_forged_head_hiding_records_cut_off_the_end_is_found_by_a_checkpoint(eng):
    write(eng, 6)
    point = eng.audit_checkpoint()
    with eng.uow() as uow:
        uow.session.execute(sa.delete(AuditRecord).where(AuditRecord.id > 4))
        kept = uow.session.get(AuditRecord, 4)
        uow.session.execute(sa.update(AuditChainHead).values(last_id=4, last_hash=kept.hash))
        uow.session.execute(sa.text("DELETE FROM audit_checkpoint"))  # even the kept copy
        uow.session.commit()
    assert eng.verify_audit() is None  # the database alone cannot tell
    assert "signed checkpoint names record 6" in str(eng.verify_audit([point]))


def test_a_forged_or_foreign_checkpoint_is_refused(eng):
    write(eng, 2)
    point = eng.audit_checkpoint()
    assert eng.verify_audit([point]) is None
    assert "signature" in str(eng.verify_audit([{**point, "last_id": 1}]))
    other = AuditKeys(KEY_B.encode())
    assert "does not hold" in str(eng.verify_audit([{**point, "key_id": other.current_id}]))


def test_rotating_the_key_keeps_old_records_verifiable(db_url, clock):
    first = make_engine(db_url, clock, audit_key=KEY_A)
    write(first, 2)
    first.db_engine.dispose()
    rotated = make_engine(db_url, clock, audit_key=KEY_B, audit_old_keys=(KEY_A,))
    write(rotated, 2)
    assert [r.key_id for r in records(rotated)] == [key_id(KEY_A.encode())] * 2 + [key_id(KEY_B.encode())] * 2
    assert rotated.verify_audit() is None
    rotated.db_engine.dispose()
    forgot = make_engine(db_url, clock, audit_key=KEY_B)
    assert f"audit key {key_id(KEY_A.encode())}" in str(forgot.verify_audit())
    forgot.db_engine.dispose()


def test_the_command_line_writes_and_checks_checkpoint_files(eng, db_url, tmp_path):
    write(eng, 2)
    env = dict(os.environ, GOVFLOW_DATABASE_URL=db_url.split("&application_name")[0], GOVFLOW_AUDIT_KEY=KEY_A)
    cli = [sys.executable, "-c", "from engine.cli import main; main()", "audit"]
    out = tmp_path / "checkpoints.jsonl"
    made = subprocess.run([*cli, "checkpoint", "--out", str(out)], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=60)
    assert made.returncode == 0, made.stderr
    assert json.loads(out.read_text().splitlines()[0])["last_id"] == 2
    ok = subprocess.run([*cli, "verify", "--checkpoint", str(out)], cwd=REPO, env=env, capture_output=True,
                        text=True, timeout=60)
    assert ok.returncode == 0 and "intact" in ok.stdout, ok.stderr
    wrong = subprocess.run([*cli, "verify"], cwd=REPO, env={**env, "GOVFLOW_AUDIT_KEY": KEY_B},
                           capture_output=True, text=True, timeout=60)
    assert wrong.returncode == 2 and "does not hold" in wrong.stderr


def test_a_checkpoint_file_that_is_not_one_is_refused_clearly(eng, db_url, tmp_path):
    bad = tmp_path / "notes.txt"
    bad.write_text("这不是检查点\n")
    env = dict(os.environ, GOVFLOW_DATABASE_URL=db_url, GOVFLOW_AUDIT_KEY=KEY_A)
    done = subprocess.run([sys.executable, "-c", "from engine.cli import main; main()", "audit", "verify",
                           "--checkpoint", str(bad)], cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and "line 1: not a checkpoint" in done.stderr and "Traceback" not in done.stderr
