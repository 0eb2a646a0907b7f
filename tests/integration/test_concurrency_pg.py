"""Concurrency proofs on PostgreSQL with real concurrent connections: exactly one winner."""
from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from engine.errors import AlreadyDone, ConcurrentModification
from engine.models import AuditRecord, HumanTask
from engine.uow import Actor
from tests.conftest import FIXTURES, make_engine

pytestmark = pytest.mark.postgres

CLERK_A = Actor("zhang", frozenset({"provider_clerk"}), "D1")
CLERK_B = Actor("wang", frozenset({"provider_clerk"}), "D1")
REPETITIONS = 40


def race(*calls):
    """Run the calls at the same instant in threads; return each one's result or exception."""
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def run(i, call):
        barrier.wait()
        try:
            results[i] = call()
        except Exception as exc:  # noqa: BLE001 - the outcome is what we assert on
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results


@pytest.fixture
def engines(pg_url, clock):
    """Two engines with their own connection pools, as two web workers would have."""
    first, second = make_engine(pg_url, clock), make_engine(pg_url, clock)
    first.deploy((FIXTURES / "review_loop.bpmn").read_bytes())
    yield first, second
    first.db_engine.dispose()
    second.db_engine.dispose()


def submit_task(engine, case_id) -> str:
    with engine.uow() as uow:
        return uow.session.scalars(sa.select(HumanTask.id).where(
            HumanTask.case_id == case_id, HumanTask.element_id == "submit")).one()


def test_two_clerks_completing_the_same_task_give_exactly_one_winner(engines):
    first, second = engines
    for n in range(REPETITIONS):
        case_id = first.start_case("review_loop", CLERK_A, {"department": "D1"})
        task_id = submit_task(first, case_id)
        results = race(lambda: first.complete_task(task_id, CLERK_A, {"summary": f"A{n}"}),
                       lambda: second.complete_task(task_id, CLERK_B, {"summary": f"B{n}"}))
        winners = [r for r in results if r == case_id]
        losers = [r for r in results if isinstance(r, (AlreadyDone, ConcurrentModification))]
        assert len(winners) == 1 and len(losers) == 1, results
        with first.uow() as uow:
            approvals = uow.session.scalar(sa.select(sa.func.count()).select_from(HumanTask).where(
                HumanTask.case_id == case_id, HumanTask.element_id == "approve"))
            completions = uow.session.scalar(sa.select(sa.func.count()).select_from(AuditRecord).where(
                AuditRecord.task_id == task_id, AuditRecord.action == "task_completed"))
        assert (approvals, completions) == (1, 1)
        summary = first.case_data(case_id)["summary"]
        assert summary == (f"A{n}" if results[0] == case_id else f"B{n}")
    assert first.verify_audit() is None


def test_claim_racing_claim_gives_one_assignee(engines):
    first, second = engines
    for _ in range(REPETITIONS // 2):
        case_id = first.start_case("review_loop", CLERK_A, {"department": "D1"})
        task_id = submit_task(first, case_id)
        results = race(lambda: first.claim(task_id, CLERK_A), lambda: second.claim(task_id, CLERK_B))
        assert sum(r is None for r in results) == 1, results
        assert sum(isinstance(r, AlreadyDone) for r in results) == 1, results
        with first.uow() as uow:
            assignee = uow.session.get(HumanTask, task_id).assignee
        assert assignee == (CLERK_A.username if results[0] is None else CLERK_B.username)


def test_many_cases_in_parallel_keep_the_audit_chain_intact(engines):
    first, second = engines
    case_ids = [first.start_case("review_loop", CLERK_A, {"department": "D1"}) for _ in range(20)]
    calls = [lambda e=(first if i % 2 else second), c=c: e.complete_task(submit_task(e, c), CLERK_A, {"summary": "parallel"})
             for i, c in enumerate(case_ids)]
    results = race(*calls)
    assert results == case_ids
    assert first.verify_audit() is None
