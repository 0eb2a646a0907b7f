"""Firing due timers in batches, and re-projecting deadlines when the calendar changes.

A batch is one unit of work: lock up to ``BATCH_SIZE`` running cases that have a due timer
(PostgreSQL: ``FOR UPDATE SKIP LOCKED`` in the query that finds them, so workers running at once take
different cases; a case is fired by whoever holds its row lock), fire the cases, then one
audit-chain append and one commit for the whole batch. A case that fails is undone alone (the batch
is done again with a savepoint per case, ``UnitOfWork.isolated``) and logged; the others commit.
The deadline rows are projected in the same transaction as the case, so every timer fires exactly
once.
"""
from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Iterable

import sqlalchemy as sa

from . import calendar_store, deadlines
from .errors import GovflowError
from .models import Case, Deadline, HumanTask
from .procedures import ScriptContext
from .uow import Actor
from .logs import with_context

TIMER_ACTOR = Actor.system("timer")
CALENDAR_ACTOR = Actor.system("calendar")
# Cases per unit of work, and how long a batch may keep taking on cases (its row locks are held to
# its commit, and a clerk's action on one of its cases waits that long). Measured with
# bench/bench_timers.py: see README "Benchmarks".
BATCH_SIZE = 50
BATCH_SECONDS = 0.25

_log = logging.getLogger("govflow.timers")


@dataclass
class Round:
    """What one call of ``fire_round`` did."""

    fired: int = 0  # timers fired
    done: dict[int, int] = field(default_factory=dict)  # case id -> timers fired, for the cases committed
    batches: int = 0  # units of work committed
    failed: dict[int, Exception] = field(default_factory=dict)  # case id -> why it was left unfired
    until: datetime | None = None  # engine-clock instant by which every due case was fired or tried


def fire_due_timers(engine, batch: int = BATCH_SIZE, log=None) -> int:
    """Fire every timer due by the engine clock's now; safe to run in several workers at once.
    Return the number of timers fired."""
    return fire_round(engine, batch, log).fired


def fire_round(engine, batch: int = BATCH_SIZE, log=None, seconds: float = BATCH_SECONDS,
               skip: Iterable[int] = (), isolate: bool = False) -> Round:
    """Fire due timers, batch after batch, until none is left that this worker can take.

    Each batch reads the clock afresh, so timers falling due while a backlog is being fired join it
    without a trip through the scheduler. A case that fails, or that had nothing to fire (another
    worker fired it meanwhile), is not tried again in this round; nor are the cases in ``skip``
    (the worker's back-off for cases that keep failing). ``isolate``: a savepoint per case from the
    start (otherwise only when a batch has to be done again, see ``_fire_batch``).
    """
    result, tried = Round(), set(skip)
    while True:
        now = engine.clock.now()
        exhausted = _fire_batch(engine, now, batch, seconds, result, tried, log or _log.warning,
                                isolate=isolate)
        result.until = now
        if exhausted:
            return result


def fire_case(engine, case_id: int) -> int:
    """Fire whatever is due in one case (a batch of one); return the number of timers fired."""
    result = Round()
    _fire_batch(engine, engine.clock.now(), 1, BATCH_SECONDS, result, set(), lambda _: None,
                only=[case_id], isolate=True)
    if case_id in result.failed:
        raise result.failed[case_id]
    return result.fired


def _fire_batch(engine, now: datetime, limit: int, seconds: float, result: Round, tried: set[int], log,
                only: list[int] | None = None, isolate: bool = False) -> bool:
    """One unit of work: lock up to ``limit`` due cases (or the cases ``only``), fire them, commit
    once. Return True when no more due cases were there to take.

    The first pass runs the cases one after the other in the transaction, with one flush at the
    commit (every savepoint costs two round trips and a flush of its own, a third of a firing). If a
    case fails there, or the commit does, the batch is rolled back and done again with a savepoint
    per case (``isolate``): the failing case is undone alone and logged, the others commit. If that
    batch's commit fails as well, its cases are fired one by one, so that one bad case never holds
    back the others.
    """
    started = time.monotonic()
    again: list[int] | None = None  # the cases to fire again, after this unit of work is rolled back
    with engine.uow() as uow:
        found = _lock_due_cases(uow, now, limit, tried, only)
        cases = list(dict.fromkeys(found))  # a case with several due timers is found once per timer
        _prefetch_open_tasks(uow, cases)
        done: list[tuple[int, int]] = []  # (case id, timers fired)
        cut = False
        for case in cases:
            if done and time.monotonic() - started > seconds:
                cut = True  # the rest stay due for the next batch; their locks go with this commit
                break
            if isolate:
                fired = _fire_isolated(engine, uow, case, result, tried, log)
                if fired is None:
                    continue
            else:
                try:
                    fired = _fire(engine, uow, case)
                except Exception as exc:  # noqa: BLE001 - diagram code may raise anything
                    if _connection_lost(exc):
                        raise
                    again = [c.id for c in cases]
                    break
            done.append((case.id, fired))
        # ``only``: done unless the time ran out; else: done if there were fewer due than asked for.
        exhausted = not cut and (only is not None or len(found) < limit)
        if again is None and done:
            try:
                uow.commit()
            except Exception as exc:  # noqa: BLE001 - the unit of work is rolled back; see above
                if _connection_lost(exc):
                    raise
                if isolate and len(done) == 1:
                    _failed(result, tried, log, done[0][0], exc)
                    return exhausted
                again = [case_id for case_id, _ in done]
                log(f"batch of {len(done)} case(s) not committed ({_describe(exc)}); "
                    f"{'firing them one by one' if isolate else 'again, a savepoint per case'}")
    if again is not None:
        if not isolate:
            return _fire_batch(engine, now, len(again), seconds, result, tried, log, only=again,
                               isolate=True) and exhausted
        for case_id in again:
            _fire_batch(engine, now, 1, seconds, result, tried, log, only=[case_id], isolate=True)
        return exhausted
    result.batches += bool(done)
    for case_id, fired in done:
        result.fired += fired
        result.done[case_id] = fired
        if not fired:
            tried.add(case_id)  # fired by another worker meanwhile: nothing due here any more
    return exhausted


def _lock_due_cases(uow, now: datetime, limit: int, tried: set[int], only: list[int] | None) -> list[Case]:
    """The running cases with a waiting, not held timer due by ``now``, oldest due first, locked.

    On PostgreSQL ``SKIP LOCKED`` applies while the rows are found, so ``limit`` counts cases this
    transaction could lock: a second worker takes the next ones instead of finding the first worker's
    batch again. SQLite: the unit of work holds the database's write lock (BEGIN IMMEDIATE).
    """
    if only is not None:
        query = sa.select(Case).where(Case.id.in_(only), Case.status == "running").order_by(Case.id)
    else:
        query = (sa.select(Case).join(Deadline, Deadline.case_id == Case.id)
                 .where(Deadline.state == "waiting", Deadline.held.is_(False), Deadline.due_at <= now,
                        Case.status == "running")
                 .order_by(Deadline.due_at).limit(limit))
        if tried:
            query = query.where(Case.id.not_in(tried))
    if uow.session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(of=Case, skip_locked=True)
    return list(uow.session.scalars(query))


def _prefetch_open_tasks(uow, cases: list[Case]) -> None:
    """The batch's open human-task rows and deadline rows, one query each, handed to
    ``project_tasks`` and ``deadlines.project`` through each case's step (``open_tasks``,
    ``deadlines``) instead of two queries per case. Read after the cases are locked."""
    if len(cases) < 2:
        return
    ids = [case.id for case in cases]
    open_rows: dict[int, dict] = {case_id: {} for case_id in ids}
    for row in uow.session.scalars(sa.select(HumanTask).where(HumanTask.case_id.in_(ids),
                                                              HumanTask.state == "ready")):
        open_rows[row.case_id][row.id] = row
    known: dict[int, dict] = {case_id: {} for case_id in ids}
    for row in uow.session.scalars(sa.select(Deadline).where(Deadline.case_id.in_(ids))):
        known[row.case_id][row.id] = row
    for case_id in ids:
        step = uow.step(case_id)
        if step.open_tasks is None:
            step.open_tasks = open_rows[case_id]
        if step.deadlines is None:
            step.deadlines = known[case_id]


def _fire(engine, uow, case: Case) -> int:
    """Let SpiffWorkflow see the case's due timers and run on; return the number of timers fired."""
    mark = len(uow.audit)
    bundle = engine.definitions.get(uow.session, case.definition_id)
    workflow = engine.runner.load(case, bundle)
    engine.runner.advance(uow, case, workflow, bundle, TIMER_ACTOR)
    return sum(1 for entry in uow.audit[mark:] if entry.action == "timer_fired")


def _fire_isolated(engine, uow, case: Case, result: Round, tried: set[int], log) -> int | None:
    """``_fire`` in a savepoint: the number of timers fired, or None if the case failed (its changes,
    audit entries and memos undone; logged)."""
    try:
        with uow.isolated():
            fired = _fire(engine, uow, case)
            uow.session.flush()  # a write that fails must fail here, inside the savepoint
            return fired
    except Exception as exc:  # noqa: BLE001 - diagram code may raise anything; only this case is lost
        if _connection_lost(exc):
            raise
        _failed(result, tried, log, case.id, exc)
        return None


def _failed(result: Round, tried: set[int], log, case_id: int, exc: Exception) -> None:
    result.failed[case_id] = exc
    tried.add(case_id)
    with with_context(case_id=case_id):
        log(f"case {case_id}: timer not fired: {_describe(exc)}")
    if not isinstance(exc, GovflowError):
        _log.debug("case %s: timer not fired", case_id, exc_info=exc)


def _describe(exc: Exception) -> str:
    return str(exc) if isinstance(exc, GovflowError) else f"{type(exc).__name__}: {exc}"


def _connection_lost(exc: Exception) -> bool:
    return isinstance(exc, sa.exc.DBAPIError) and bool(exc.connection_invalidated)


def due_instants(engine, after: datetime | None) -> tuple[datetime | None, datetime | None]:
    """(the earliest due instant of a waiting, not held timer later than ``after``; the earliest of
    all of them): one round trip, each half an index range scan of ``ix_deadline_due``."""
    waiting = sa.select(sa.func.min(Deadline.due_at)).where(Deadline.state == "waiting",
                                                           Deadline.held.is_(False))
    upcoming = waiting.where(Deadline.due_at > after) if after is not None else waiting
    with engine.uow() as uow:
        row = uow.session.execute(sa.select(upcoming.scalar_subquery(), waiting.scalar_subquery())).one()
    return row[0], row[1]


# -- moving deadlines when the calendar changes -------------------------------------------------

def recompute_deadlines(engine, changed: set[date] | None = None, actor: Actor = CALENDAR_ACTOR) -> int:
    """Re-project every open deadline that is provisional or whose period crosses a changed date."""
    moved = 0
    for case_id in _affected_cases(engine, changed):
        moved += _recompute_case(engine, case_id, actor)
    return moved


def _affected_cases(engine, changed: set[date] | None) -> list[int]:
    with engine.uow() as uow:
        rows = uow.session.execute(sa.select(Deadline.case_id, Deadline.params, Deadline.provisional)
                                   .where(Deadline.state == "waiting", Deadline.params != "{}")).all()
    affected = set()
    for case_id, params, provisional in rows:
        meta = json.loads(params)
        if provisional or changed is None or _crosses(meta, changed):
            affected.add(case_id)
    return sorted(affected)


def _crosses(meta: dict, changed: set[date]) -> bool:
    if "start" not in meta or "due_date" not in meta:
        return False  # not a working-day deadline (e.g. a calendar-time cycle's firing count)
    start, end = date.fromisoformat(meta["start"]), date.fromisoformat(meta["due_date"])
    return any(start < d <= end for d in changed)


def _recompute_case(engine, case_id: int, actor: Actor) -> int:
    with engine.uow() as uow:
        case = uow.session.scalars(sa.select(Case).where(Case.id == case_id, Case.status == "running")
                                   .with_for_update()).first()
        if case is None:
            return 0
        bundle = engine.definitions.get(uow.session, case.definition_id)
        workflow = engine.runner.load(case, bundle)
        calendar = engine.calendar(uow.session)
        policy = calendar_store.after_hours_policy(uow.session, engine.config.after_hours_policy)
        ctx = ScriptContext(engine, uow.session, case, actor, engine.clock.now(), None, workflow,
                            engine.rule_set(uow.session, case.rule_set), uow)
        moved = 0
        for timer in workflow.get_tasks(state=deadlines.TaskState.WAITING):
            meta = timer._get_internal_data("deadline") if deadlines.is_timer(timer) else None
            if not meta:
                continue
            new = deadlines.from_internal(calendar, meta, policy)
            if new.internal() != meta or new.isoformat_instant() != timer._get_internal_data("event_value"):
                deadlines.move_timer(ctx, timer, new, reason="calendar changed")
                moved += 1
        if moved:
            engine.runner.advance(uow, case, workflow, bundle, actor)
            uow.commit()
        return moved


# -- administrators' calendar changes -----------------------------------------------------------
# The changes are the administrators' verbs in ``engine.verbs.calendar`` (an ``Actor``, the role
# checked there); what the calendar looks like is ``engine.views.admin.calendar_status``. These
# three remain as the operator's shims for ``tools/release_fixture.py`` and older tests, which enter
# calendar changes as ``by`` (an administrator by definition).

def set_override(engine, day: date, working: bool, note: str, by: str) -> int:
    """``engine.verbs.calendar.set_override`` as the operator ``by``."""
    from .verbs import calendar
    return calendar.set_override(engine, _operator(by), day, working, note)


def publish_year(engine, year: int, document: str, holidays: list[date], workdays: list[date],
                 by: str) -> int:
    """``engine.verbs.calendar.publish_year`` as the operator ``by``."""
    from .verbs import calendar
    return calendar.publish_year(engine, _operator(by), year, document, holidays, workdays)


def set_after_hours_policy(engine, policy: str, by: str) -> None:
    """``engine.verbs.calendar.set_after_hours_policy`` as the operator ``by``."""
    from .verbs import calendar
    calendar.set_after_hours_policy(engine, _operator(by), policy)


def _operator(by: str) -> Actor:
    return Actor(by, frozenset({"admin"}))
