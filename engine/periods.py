"""Statutory periods (法定期限): a party's obligation under one article, watched once per period.

docs/deadlines.md describes the model; in short:

* A procedure declares its periods (``PERIODS`` in its module): the rule-set key of the length, the
  obliged party, the article, and the length of a *restart* (a later period of the same name, e.g.
  the 5 days to rework a catalog update the authority returned, art. 9).
* A diagram watches a party's tasks with boundary timers ``period_due("update", change_date)`` and
  ``period_reminder("update", change_date)``. The first timer that is entered opens the period; every
  other task of the same party entered while it runs (the 数长's approval, a transfer, a return inside
  the department) gets the same due instant. Day 0 is ``start`` for the first period of that name
  (a date in the case data) and the receipt of now for a restart.
* A period closes when no timer watches it any more: the party acted, or the case went to the other
  party (the clock stops, docs/procedures.md after 行政许可法 art. 32). Coming back opens a new one.
* Its reminder and its overdue escalation happen once: a reminder fired again (a later task of the
  same period entered after the reminder instant) notifies nobody, and ``escalate_overdue`` opens at
  most one 督办 per period (a dismissed one stays dismissed).
* The authority's own periods are reminded and marked late like the others, but raise no 督办 and
  no violation: they are shown on the supervision dashboard and counted in the evaluation.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from SpiffWorkflow.util.task import TaskState

from . import audit
from .calendar import period_end
from .deadlines import WorkdayDeadline, compute, extra_of, reminder_days, start_of
from .errors import GovflowError
from .messages import msg
from .models import StatutoryPeriod

PARTIES = {"department": "部门", "authority": "主管部门", "applicant": "申请部门", "county_gov": "县政府"}
AUTHORITY = "authority"


@dataclass(frozen=True)
class PeriodSpec:
    """A period a procedure times (docs/deadlines.md has the table of all of them)."""

    rule: str  # rule-set key of its length (``rules.catalog_update_days``)
    party: str  # who is obliged: one of PARTIES
    article: str  # e.g. "9", "14 ¶3"
    title: str  # what the party must do, for people: "更新并审核部门目录"
    restart_rule: str | None = None  # length of a later period of the same name (default: ``rule``)
    item: int | None = None  # art. 31 item the lateness may amount to (1 or 3); None: no 督办

    def __post_init__(self) -> None:
        if self.party not in PARTIES:
            raise ValueError(f"unknown party {self.party!r}")


# -- functions diagrams call (timer expressions) -------------------------------------------------

def period_due(ctx, name, start=None, days=None) -> WorkdayDeadline:
    """``timeDate`` of an overdue timer: 24:00 of the period's last working day."""
    row, extra, start_provisional = _instance(ctx, name, start, days)
    return compute(ctx.services.calendar(ctx.session), row.start_date, row.days, 0, extra, start_provisional)


def period_reminder(ctx, name, start=None, days=None, before=None) -> WorkdayDeadline:
    """``timeDate`` of a reminder timer: 09:00 of the working day(s) before the period ends."""
    row, extra, start_provisional = _instance(ctx, name, start, days)
    return compute(ctx.services.calendar(ctx.session), row.start_date, row.days, reminder_days(ctx, before),
                   extra, start_provisional)


DIAGRAM_FUNCTIONS = {"period_due": period_due, "period_reminder": period_reminder}


def spec_of(ctx, name: str) -> PeriodSpec:
    spec = ctx.services.periods_of(ctx.case.process_id).get(name) if ctx.case is not None else None
    if spec is None:
        raise GovflowError(msg("period.undeclared", "the procedure declares no period {name!r}", name=name))
    return spec


def _instance(ctx, name: str, start, days) -> tuple[StatutoryPeriod, dict, bool]:
    """The running period ``name`` of the case, opened now if none runs."""
    spec = spec_of(ctx, name)
    rows = case_periods(ctx.uow, ctx.case.id).setdefault(name, [])
    running = [r for r in rows if r.state == "running"]
    if running:
        row = running[-1]
        meta = _running_meta(ctx, row)
        return row, meta, bool(meta.get("received_at")) and row.provisional
    seq = len(rows) + 1
    restart = seq > 1
    rule = (spec.restart_rule or spec.rule) if restart else spec.rule
    n = _length(ctx, rule, None if restart and spec.restart_rule else days)
    day0, extra, start_provisional = start_of(ctx, None if restart else start)
    due = compute(ctx.services.calendar(ctx.session), day0, n)
    row = StatutoryPeriod(case_id=ctx.case.id, name=name, seq=seq, party=spec.party, department=None,
                          article=spec.article, rule=rule, days=n, start_date=day0, due_date=due.due_date,
                          due_at=period_end(due.due_date), provisional=due.provisional or start_provisional,
                          state="running", opened_at=ctx.now)
    ctx.session.add(row)
    rows.append(row)
    row_meta = {"period": name, "seq": seq, **extra}
    ctx.uow.step(ctx.case.id).period_meta[(name, seq)] = row_meta
    ctx.uow.record(audit.Entry(ctx.now, ctx.actor.username, "period_opened", ctx.case.id, summary={
        "period": name, "seq": seq, "party": spec.party, "article": spec.article, "rule": rule, "days": n,
        "start": day0.isoformat(), "due_date": due.due_date.isoformat(), "provisional": row.provisional}))
    return row, row_meta, start_provisional


def _running_meta(ctx, row: StatutoryPeriod) -> dict:
    """The meta a new timer of a running period keeps: that of its other timers (day 0's receipt
    instant included, so all of them are recomputed alike)."""
    known = ctx.uow.step(ctx.case.id).period_meta.get((row.name, row.seq))
    if known is not None:
        return known
    for timer in ctx.workflow.get_tasks(state=TaskState.WAITING) if ctx.workflow is not None else ():
        meta = timer._get_internal_data("deadline") or {}
        if meta.get("period") == row.name and meta.get("seq") == row.seq:
            return {k: v for k, v in extra_of(meta).items()}
    return {"period": row.name, "seq": row.seq}


def _length(ctx, rule: str, days) -> int:
    """The period's length: ``days`` given by the diagram (a notice's own period), else the rule set's."""
    if days is not None:
        if isinstance(days, bool) or not isinstance(days, int) or not 0 < days <= 365:
            raise GovflowError(msg("period.bad_days", "not a number of working days: {days!r}", days=days))
        return days
    value = (ctx.rules.periods if ctx.rules is not None else {}).get(rule)
    if value is None:
        raise GovflowError(msg("period.not_in_rule_set", "the rule set {key} has no period {period}", key=ctx.case.rule_set,
                                period=rule))
    return int(value)


# -- the period rows of a case -------------------------------------------------------------------

def case_periods(uow, case_id: int) -> dict[str, list[StatutoryPeriod]]:
    """The case's periods by name, oldest first; read once per unit of work."""
    step = uow.step(case_id)
    found = step.periods
    if found is None:
        found = {}
        if not step.new_case:
            for row in uow.session.scalars(sa.select(StatutoryPeriod).where(StatutoryPeriod.case_id == case_id)
                                           .order_by(StatutoryPeriod.name, StatutoryPeriod.seq)):
                found.setdefault(row.name, []).append(row)
        step.periods = found
    return found


def period_of_meta(uow, case_id: int, meta: dict | None) -> StatutoryPeriod | None:
    if not meta or "period" not in meta:
        return None
    for row in case_periods(uow, case_id).get(meta["period"], []):
        if row.seq == meta.get("seq"):
            return row
    return None


def on_fired(uow, case, row: StatutoryPeriod | None, kind: str, actor, now: datetime) -> bool:
    """A timer of the period fired; return False when it repeats what the period already did (a
    second reminder: nobody is notified again)."""
    if row is None:
        return True
    if kind == "reminder":
        if row.reminded_at is not None:
            return False
        row.reminded_at = now
        return True
    if kind == "overdue" and row.overdue_at is None:
        row.overdue_at = now
        uow.record(audit.Entry(now, actor.username, "period_overdue", case.id, summary={
            "period": row.name, "seq": row.seq, "party": row.party, "department": row.department,
            "article": row.article, "due_date": row.due_date.isoformat()}))
    return True


def project(uow, case, waiting: dict, watched_rows: dict, still_held: set, actor, now: datetime) -> None:
    """Keep the period rows equal to the timers that watch them (end of every unit of work).

    ``waiting``: the case's waiting timers by id; ``watched_rows``: timer id -> the open human-task
    rows it watches; ``still_held``: (name, seq) of periods whose timers fired while the party still
    holds a task of it. A running period nothing watches or holds is closed (met, or late if it passed its end);
    a watched one takes its due date from its timers (moved by an extension or a published year) and
    its department from the tasks it watches.
    """
    periods = case_periods(uow, case.id)
    if not periods:
        return
    seen: dict[tuple[str, int], dict] = {}
    for timer_id, timer in waiting.items():
        meta = timer._get_internal_data("deadline") or {}
        if "period" in meta:
            key = (meta["period"], meta.get("seq"))
            if key not in seen or not meta.get("before"):
                seen[key] = meta
            row = period_of_meta(uow, case.id, meta)
            if row is not None and row.department is None and row.party != AUTHORITY:
                depts = [t.department for t in watched_rows.get(timer_id, []) if t.department]
                row.department = depts[0] if depts else None
    for rows in periods.values():
        for row in rows:
            if row.state != "running":
                continue
            meta = seen.get((row.name, row.seq))
            if meta is None and (row.name, row.seq) in still_held:
                continue
            if meta is None:
                _close(uow, case, row, actor, now)
            else:
                _sync(uow, case, row, meta, actor, now)


def _close(uow, case, row: StatutoryPeriod, actor, now: datetime) -> None:
    late = row.overdue_at is not None or (now > row.due_at and not row.provisional)
    # an applicant owes nothing under the regulation: its silence lapses (withdraws), it is not late
    row.state, row.closed_at = ("met" if not late else "lapsed" if row.party == "applicant" else "late"), now
    uow.record(audit.Entry(now, actor.username, "period_closed", case.id, summary={
        "period": row.name, "seq": row.seq, "party": row.party, "department": row.department,
        "state": row.state, "due_date": row.due_date.isoformat()}))


def _sync(uow, case, row: StatutoryPeriod, meta: dict, actor, now: datetime) -> None:
    due_date = date.fromisoformat(meta["due_date"])
    values = {"due_date": due_date, "due_at": period_end(due_date), "provisional": bool(meta.get("provisional")),
              "start_date": date.fromisoformat(meta["start"]), "days": int(meta["n"])}
    if all(getattr(row, k) == v for k, v in values.items()):
        return
    old = {"due_date": row.due_date.isoformat(), "provisional": row.provisional}
    for k, v in values.items():
        setattr(row, k, v)
    if row.id is None:  # opened in this unit of work: nothing moved
        return
    uow.record(audit.Entry(now, actor.username, "period_moved", case.id, summary={
        "period": row.name, "seq": row.seq, "old": old,
        "new": {"due_date": row.due_date.isoformat(), "provisional": row.provisional}}))
    uow.step(case.id).periods_moved.append(row)


def extend(ctx, name: str, seq: int, days: int) -> None:
    """An approved extension moves the period itself (art. 18): counted from the end of the original
    period, i.e. ``days`` more working days from the same day 0; audited."""
    row = period_of_meta(ctx.uow, ctx.case.id, {"period": name, "seq": seq})
    if row is None:
        return
    old = {"due_date": row.due_date.isoformat(), "provisional": row.provisional}
    due = compute(ctx.services.calendar(ctx.session), row.start_date, row.days + days)
    row.days, row.due_date, row.due_at = row.days + days, due.due_date, period_end(due.due_date)
    row.provisional = row.provisional or due.provisional
    ctx.uow.record(audit.Entry(ctx.now, ctx.actor.username, "period_moved", ctx.case.id, summary={
        "period": name, "seq": seq, "old": old, "reason": f"extension +{days}",
        "new": {"due_date": row.due_date.isoformat(), "provisional": row.provisional}}))


def escalated(row: StatutoryPeriod | None) -> bool:
    return row is not None and row.supervision_id is not None


def of_case(session, case_id: int) -> list[StatutoryPeriod]:
    return list(session.scalars(sa.select(StatutoryPeriod).where(StatutoryPeriod.case_id == case_id)
                                .order_by(StatutoryPeriod.opened_at, StatutoryPeriod.id)))


# -- read model: a case's periods as the case page and the API show them --------------------------

@dataclass(frozen=True)
class PeriodView:
    name: str
    seq: int
    title: str  # what the party must do (the procedure's PERIODS title)
    party: str
    department: str | None  # code
    article: str
    rule: str
    days: int
    start_date: date
    due_date: date
    provisional: bool
    state: str  # running / met / late
    overdue: bool  # its end passed (a running period still held by its party, or a late one)
    reminded_at: datetime | None
    overdue_at: datetime | None
    closed_at: datetime | None
    supervision_id: int | None


def views(engine, session, case) -> list[PeriodView]:
    """Every period of ``case``, oldest first, with the procedure's title for each."""
    proc = engine.procedures.get(case.process_id)
    specs = proc.periods if proc is not None else {}
    now = engine.clock.now()
    found = []
    for row in of_case(session, case.id):
        spec = specs.get(row.name)
        overdue = row.state == "late" or (row.state == "running" and not row.provisional
                                          and (row.overdue_at is not None or now > row.due_at))
        found.append(PeriodView(row.name, row.seq, spec.title if spec else row.name, row.party, row.department,
                                row.article, row.rule, row.days, row.start_date, row.due_date, row.provisional,
                                row.state, overdue, row.reminded_at, row.overdue_at, row.closed_at,
                                row.supervision_id))
    return found


def view_json(view: PeriodView) -> dict:
    return {"name": view.name, "seq": view.seq, "title": view.title, "party": view.party,
            "department": view.department, "article": view.article, "rule": view.rule, "days": view.days,
            "start_date": view.start_date, "due_date": view.due_date, "provisional": view.provisional,
            "state": view.state, "overdue": view.overdue, "reminded_at": view.reminded_at,
            "overdue_at": view.overdue_at, "closed_at": view.closed_at, "supervision_id": view.supervision_id}
