"""Timers fired in batches: many cases per unit of work, one commit and one audit append per batch,
a failing case undone alone, every timer fired exactly once (SQLite and PostgreSQL)."""
from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta

import pytest
import sqlalchemy as sa

from engine import timer_service
from engine.clock import FrozenClock
from engine.errors import ConcurrentModification, ScriptError
from engine.models import Incident, AuditRecord, Case, Deadline
from engine.procedures import Procedure
from engine.uow import Actor, UnitOfWork
from engine import worker as worker_module
from engine.worker import SAFETY_POLL, TimerWorker
from tests.conftest import FIXTURES, make_engine

CLERK = Actor("clerk")

# timer_only.bpmn whose script after the timer calls check(mode): "ok" passes, "script" divides by
# zero (a script error), "db" runs broken SQL in the case's transaction (a script error too, but on
# PostgreSQL it aborts the transaction until the savepoint is rolled back); "hook" passes, but an
# engine hook run after the script raises RuntimeError for it (not a GovflowError).
CHECKED = (FIXTURES / "timer_only.bpmn").read_text(encoding="utf-8").replace(
    'id="timer_only"', 'id="timer_checked"').replace("fired = True", "fired = check(mode)")


def check(ctx, mode):
    if mode == "script":
        return 1 / 0
    if mode == "db":
        ctx.session.execute(sa.text("SELECT no_such_column FROM deadline"))
    return True


def failing_hook(uow, case, workflow, actor, now):
    if workflow.data.get("mode") == "hook" and workflow.is_completed():
        raise RuntimeError("hook failed")


@pytest.fixture
def timers(db_url, clock):
    engine = make_engine(db_url, clock, procedures={
        "timer_checked": Procedure("timer_checked", {"check": check}, resolve_department=None,
                                   start_roles=frozenset({"public"}))})  # anyone starts it, CLERK included
    engine.hooks.append(failing_hook)
    engine.deploy((FIXTURES / "timer_only.bpmn").read_bytes())
    engine.deploy(CHECKED.encode("utf-8"))
    yield engine
    engine.db_engine.dispose()


def start(engine, clock, modes, due_in=timedelta(minutes=5)) -> list[int]:
    fire_at = (clock.now() + due_in).isoformat()
    return [engine.start_case("timer_checked", CLERK, {"fire_at": fire_at, "mode": mode}) for mode in modes]


def snapshot(engine, case_id) -> dict:
    with engine.uow() as uow:
        case = uow.session.get(Case, case_id)
        return {"status": case.status, "version": case.version, "state": case.state,
                "deadlines": sorted((d.state, d.fired_at) for d in uow.session.scalars(
                    sa.select(Deadline).where(Deadline.case_id == case_id))),
                "audit": uow.session.scalar(sa.select(sa.func.count()).select_from(AuditRecord)
                                            .where(AuditRecord.case_id == case_id))}


def fires_per_timer(engine) -> Counter:
    with engine.uow() as uow:
        return Counter(uow.session.scalars(sa.select(AuditRecord.task_id).where(
            AuditRecord.action == "timer_fired")))


def count_commits(engine) -> list:
    commits = []
    sa.event.listen(engine.db_engine, "commit", lambda conn: commits.append(1))
    return commits


def test_a_batch_fires_every_due_case_exactly_once_with_one_commit_per_batch(timers, clock):
    due = start(timers, clock, ["ok"] * 12)
    later = start(timers, clock, ["ok"] * 3, due_in=timedelta(hours=3))
    clock.advance(hours=1)
    commits = count_commits(timers)

    result = timer_service.fire_round(timers, batch=5, seconds=60)  # no batch cut short by a slow machine

    assert (result.fired, len(result.done), result.batches, result.failed) == (12, 12, 3, {})
    assert len(commits) == 3  # 5 + 5 + 2 cases: one unit of work each
    assert sorted(result.done) == due and set(result.done.values()) == {1}
    fires = fires_per_timer(timers)
    assert len(fires) == 12 and set(fires.values()) == {1}
    for case_id in due:
        s = snapshot(timers, case_id)
        assert s["status"] == "completed" and s["deadlines"] == [("fired", clock.now())]
    assert all(snapshot(timers, c)["deadlines"][0][0] == "waiting" for c in later)
    assert timer_service.fire_due_timers(timers, batch=5) == 0
    assert timers.verify_audit() is None


@pytest.mark.parametrize("isolate", [False, True], ids=["first-pass", "savepoint-per-case"])
@pytest.mark.parametrize("failure", ["db", "hook"])
def test_a_failing_case_is_left_untouched_and_the_rest_of_its_batch_fires(timers, clock, failure, isolate):
    """A failure that is not the diagram's (the database, a hook) leaves the case as it was, to be
    fired again; the diagram's own failure is an incident (the next test)."""
    ids = start(timers, clock, ["ok", "ok", failure, "ok", "ok", "ok", "ok"])
    bad = ids[2]
    before = snapshot(timers, bad)
    clock.advance(hours=1)
    commits, logged = count_commits(timers), []

    result = timer_service.fire_round(timers, batch=4, log=logged.append, isolate=isolate, seconds=60)

    assert result.fired == 6 and sorted(result.done) == sorted(set(ids) - {bad})
    assert list(result.failed) == [bad]
    expected = {"db": (sa.exc.SQLAlchemyError, "no_such_column"), "hook": (RuntimeError, "hook failed")}[failure]
    assert isinstance(result.failed[bad], expected[0]) and expected[1] in str(result.failed[bad])
    assert len(commits) == 2  # the failing case's batch still commits its three good cases once
    assert len(logged) == 1 and f"case {bad}: timer not fired" in logged[0]
    assert snapshot(timers, bad) == before  # state, version, deadline still waiting, no audit entry
    assert all(snapshot(timers, c)["status"] == "completed" for c in ids if c != bad)
    fires = fires_per_timer(timers)
    assert len(fires) == 6 and set(fires.values()) == {1}
    assert timers.verify_audit() is None

    # Next round: only the failing case is due, and it fails again without harm.
    again = timer_service.fire_round(timers, batch=4, log=logged.append)
    assert (again.fired, list(again.failed)) == (0, [bad])
    assert snapshot(timers, bad) == before


@pytest.mark.parametrize("isolate", [False, True], ids=["first-pass", "savepoint-per-case"])
def test_a_diagram_failing_in_a_timer_stops_its_case_in_an_incident_and_the_batch_fires(timers, clock, isolate):
    """The diagram's own error in a timer job: nobody is there to read it and every round would
    try again, so the case stops in an incident (engine.incidents) and leaves the rounds."""
    ids = start(timers, clock, ["ok", "ok", "script", "ok", "ok", "ok", "ok"])
    bad = ids[2]
    clock.advance(hours=1)
    logged = []
    result = timer_service.fire_round(timers, batch=4, log=logged.append, isolate=isolate, seconds=60)
    assert result.failed == {} and result.fired == 7 and sorted(result.done) == sorted(ids)
    assert snapshot(timers, bad)["status"] == "incident"
    with timers.uow() as uow:
        incident = uow.session.scalar(sa.select(Incident).where(Incident.case_id == bad))
        assert incident.kind == "error" and "division by zero" in incident.message
    assert all(snapshot(timers, c)["status"] == "completed" for c in ids if c != bad)
    assert timers.verify_audit() is None
    again = timer_service.fire_round(timers, batch=4, log=logged.append)
    assert (again.fired, again.failed, again.done) == (0, {}, {})  # the incident case is out of the rounds


def test_a_batch_whose_commit_fails_is_fired_case_by_case(timers, clock, monkeypatch):
    ids = start(timers, clock, ["ok"] * 5)
    clock.advance(hours=1)
    real_commit = UnitOfWork.commit
    refused = []

    def commit(self):
        if sum(1 for e in self.audit if e.action == "timer_fired") > 1:  # a batch of several cases
            refused.append(len(self.audit))
            self.session.rollback()
            raise ConcurrentModification("simulated")
        real_commit(self)

    monkeypatch.setattr(UnitOfWork, "commit", commit)
    logged = []
    result = timer_service.fire_round(timers, batch=10, log=logged.append, seconds=60)

    assert len(refused) == 2  # the batch, then the batch again with a savepoint per case
    assert result.fired == 5 and sorted(result.done) == ids and result.failed == {}
    assert any("one by one" in line for line in logged)
    fires = fires_per_timer(timers)
    assert len(fires) == 5 and set(fires.values()) == {1}
    assert timers.verify_audit() is None


def test_fire_case_fires_one_case_and_raises_its_error(timers, clock):
    good, bad, broken = start(timers, clock, ["ok", "script", "hook"])
    clock.advance(hours=1)
    assert timer_service.fire_case(timers, good) == 1
    assert timer_service.fire_case(timers, good) == 0  # it has ended
    assert timer_service.fire_case(timers, bad) == 1  # fired, then stopped in an incident
    assert snapshot(timers, bad)["status"] == "incident"
    with pytest.raises(RuntimeError, match="hook failed"):
        timer_service.fire_case(timers, broken)
    assert snapshot(timers, broken)["deadlines"][0][0] == "waiting"


@pytest.mark.postgres
def test_a_second_worker_takes_the_next_due_cases_not_the_first_ones(pg_url, clock):
    """SKIP LOCKED in the query that finds the due cases: while one transaction holds the oldest
    due cases, another round fires all the others, and none of the held ones."""
    engine = make_engine(pg_url, clock, procedures={})
    engine.deploy((FIXTURES / "timer_only.bpmn").read_bytes())
    ids = [engine.start_case("timer_only", CLERK, {"fire_at": (clock.now() + timedelta(minutes=m)).isoformat()})
           for m in range(1, 11)]
    clock.advance(hours=1)
    held, release, ready = [], threading.Event(), threading.Event()

    def hold_oldest():
        with engine.uow() as uow:
            held.extend(c.id for c in timer_service._lock_due_cases(uow, clock.now(), 4, set(), None))
            ready.set()
            release.wait(30)

    holder = threading.Thread(target=hold_oldest)
    holder.start()
    try:
        assert ready.wait(30)
        assert held == ids[:4]
        result = timer_service.fire_round(engine, batch=3)
        assert sorted(result.done) == ids[4:] and result.fired == 6
        assert all(snapshot(engine, c)["deadlines"][0][0] == "waiting" for c in held)
    finally:
        release.set()
        holder.join()
    assert timer_service.fire_due_timers(engine, batch=3) == 4
    fires = fires_per_timer(engine)
    assert len(fires) == 10 and set(fires.values()) == {1}
    assert engine.verify_audit() is None
    engine.db_engine.dispose()


# -- the worker ------------------------------------------------------------------------------------

class SteppingClock(FrozenClock):
    """Every reading moves time on: firing takes (engine-clock) time."""

    def __init__(self, start, step: timedelta):
        super().__init__(start)
        self.step = step

    def now(self):
        instant = super().now()
        self.advance(seconds=self.step.total_seconds())
        return instant


def test_a_busy_worker_fires_what_fell_due_during_its_round_without_the_scheduler(db_url, clock):
    engine = make_engine(db_url, clock, procedures={})
    engine.deploy((FIXTURES / "timer_only.bpmn").read_bytes())
    t0 = clock.now()
    first = [engine.start_case("timer_only", CLERK, {"fire_at": (t0 + timedelta(minutes=1)).isoformat()})
             for _ in range(3)]
    second = engine.start_case("timer_only", CLERK, {"fire_at": (t0 + timedelta(minutes=3)).isoformat()})
    later = engine.start_case("timer_only", CLERK, {"fire_at": (t0 + timedelta(days=2)).isoformat()})
    engine.clock = SteppingClock(t0 + timedelta(minutes=2), timedelta(seconds=30))
    worker = TimerWorker(engine)
    try:
        worker._tick()  # one wake-up, as the scheduler would run it
        states = {c: snapshot(engine, c)["status"] for c in [*first, second, later]}
        assert states == {**{c: "completed" for c in [*first, second]}, later: "running"}
        # The first round fired `first`; `second` fell due while it ran and was fired by the same
        # wake-up; the next wake-up is the safety poll (the later timer is two days away).
        job = worker.scheduler.get_job("fire")
        assert job is not None and worker.scheduled_for == job.trigger.run_date
        assert SAFETY_POLL - timedelta(seconds=5) < worker.scheduled_for - sa_now() <= SAFETY_POLL
    finally:
        worker.stop()
        engine.db_engine.dispose()


def sa_now():
    from datetime import datetime, timezone
    return datetime.now(timezone.utc)


def test_an_idle_worker_is_scheduled_for_the_due_instant(db_url):
    from engine.clock import SystemClock
    engine = make_engine(db_url, SystemClock(), procedures={})
    engine.deploy((FIXTURES / "timer_only.bpmn").read_bytes())
    worker = TimerWorker(engine)
    worker.start()
    try:
        due = sa_now() + timedelta(seconds=20)
        engine.start_case("timer_only", CLERK, {"fire_at": due.isoformat()})
        worker.reschedule()  # what the NOTIFY (PostgreSQL) or the one-second check (SQLite) triggers
        job = worker.scheduler.get_job("fire")
        assert abs((job.next_run_time - due).total_seconds()) < 0.05  # a DateTrigger at the due instant
        assert worker.scheduled_for == job.next_run_time
    finally:
        worker.stop()
        engine.db_engine.dispose()


def test_a_failing_case_backs_off_instead_of_a_busy_loop(timers, clock, monkeypatch):
    retry = timedelta(seconds=20)  # longer than a slow machine needs between the two rounds below
    monkeypatch.setattr(worker_module, "RETRY", retry)
    good, bad = start(timers, clock, ["ok", "hook"])  # not the diagram's error (that is an incident)
    clock.advance(hours=1)
    worker = TimerWorker(timers)
    try:
        assert worker.fire() == 1
        assert bad in worker.backoff and worker.backoff[bad][1] == retry.total_seconds()
        # Still due, but the worker does not fire again at once: it looks again after RETRY.
        assert worker.reschedule(firing=True) is False
        delay = worker.scheduled_for - sa_now()
        assert retry - timedelta(seconds=5) < delay <= retry
        # Within its back-off the case is left out of the rounds altogether.
        with timers.uow() as uow:
            version = uow.session.get(Case, bad).version
        assert worker.fire() == 0
        assert snapshot(timers, bad)["version"] == version
        assert worker.backoff[bad][1] == retry.total_seconds()  # not tried, so not doubled
        assert snapshot(timers, good)["status"] == "completed"
    finally:
        worker.stop()


def test_a_failing_round_is_retried_later_not_in_a_loop(timers, clock, monkeypatch):
    start(timers, clock, ["ok"])
    clock.advance(hours=1)
    calls = []

    def broken_round(*args, **kwargs):
        calls.append(1)
        raise RuntimeError("database trouble")

    monkeypatch.setattr(worker_module, "fire_round", broken_round)
    worker = TimerWorker(timers)
    try:
        worker._tick()
        assert len(calls) == 1  # the due timer is still due, but the wake-up does not spin on it
        delay = worker.scheduled_for - sa_now()
        assert timedelta(0) < delay <= worker_module.RETRY
        assert worker.retry == 2 * worker_module.RETRY  # the next retry after a failure waits longer
    finally:
        worker.stop()
