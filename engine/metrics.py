"""Operations' figures in Prometheus' format (issue 15), for ``/metrics``:

* counted in each process: audit records appended, timers fired and how late (``due`` → fired);
* read from the database at every scrape, so the same whatever process answers: open and overdue
  tasks (``engine.deadline_state``), timers past due and not yet fired (and the oldest's lateness),
  open supervision items, the audit chain's length, and the timer workers alive (their heartbeats).

Several processes each count their own requests and firings: scrape each, or run them with
``PROMETHEUS_MULTIPROC_DIR`` (prometheus_client's multiprocess mode).
"""
from __future__ import annotations

import os
import socket
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa
from prometheus_client import Counter, Histogram
from prometheus_client.core import GaugeMetricFamily

AUDIT_APPENDS = Counter("govflow_audit_records_appended_total", "Audit records appended by this process")
TIMERS_FIRED = Counter("govflow_timers_fired_total", "Timers fired by this process", ["kind"])
TIMER_LATENESS = Histogram("govflow_timer_lateness_seconds", "From a timer's due instant to its firing",
                           buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 3600))
HEARTBEAT_PREFIX = "worker_heartbeat:"
ALIVE = timedelta(minutes=2)  # a worker beats every 30 s
NEVER = datetime(2000, 1, 1, tzinfo=timezone.utc)


def heartbeat(engine) -> None:
    """A timer worker says it is alive (a row per host and process; old ones are pruned)."""
    from .models import Setting
    now = engine.clock.now()
    key = f"{HEARTBEAT_PREFIX}{socket.gethostname()[:60]}:{os.getpid()}"
    with engine.uow() as uow:
        row = uow.session.get(Setting, key)
        if row is None:
            uow.session.add(Setting(key=key, value=now.isoformat()))
        else:
            row.value = now.isoformat()
        stale = [s for s in uow.session.scalars(sa.select(Setting).where(Setting.key.like(f"{HEARTBEAT_PREFIX}%")))
                 if _at(s.value) < now - timedelta(days=1)]
        for old in stale:
            uow.session.delete(old)
        uow.commit()


def workers_alive(session, now: datetime) -> int:
    from .models import Setting
    values = session.scalars(sa.select(Setting.value).where(Setting.key.like(f"{HEARTBEAT_PREFIX}%")))
    return sum(1 for v in values if _at(v) >= now - ALIVE)


def _at(value: str) -> datetime:
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return NEVER


class StateCollector:
    """Gauges read from the database when Prometheus scrapes."""

    def __init__(self, engine):
        self.engine = engine

    def collect(self):
        from . import deadline_state
        from .domain.violations import SupervisionItem
        from .models import AuditChainHead, Case, Deadline, HumanTask
        now = self.engine.clock.now()
        with self.engine.uow() as uow:
            s = uow.session
            rule = deadline_state.at(s, now, self.engine.calendar(s))
            open_tasks = s.scalar(sa.select(sa.func.count()).select_from(HumanTask).where(HumanTask.state == "ready"))
            overdue = s.scalar(sa.select(sa.func.count()).select_from(HumanTask)
                               .join(Case, Case.id == HumanTask.case_id).where(rule.sql_is(deadline_state.OVERDUE)))
            late = s.execute(sa.select(sa.func.count(), sa.func.min(Deadline.due_at)).where(
                Deadline.state == "waiting", Deadline.due_at < now)).one()
            supervision = s.scalar(sa.select(sa.func.count()).select_from(SupervisionItem)
                                   .where(SupervisionItem.status == "open"))
            head = s.scalar(sa.select(AuditChainHead.last_id))
            alive = workers_alive(s, now)
        yield _gauge("govflow_tasks_open", "Open human tasks", open_tasks)
        yield _gauge("govflow_tasks_overdue", "Open tasks overdue (engine.deadline_state)", overdue)
        yield _gauge("govflow_timers_past_due", "Waiting timers whose instant has passed", late[0])
        yield _gauge("govflow_timer_oldest_past_due_seconds", "How late the oldest unfired timer is",
                     (now - late[1]).total_seconds() if late[1] is not None else 0)
        yield _gauge("govflow_supervision_items_open", "Open supervision items: overdue escalations, 督办", supervision)
        yield _gauge("govflow_audit_records", "Records in the audit chain", head or 0)
        yield _gauge("govflow_workers_alive", "Timer workers with a heartbeat in the last 2 minutes", alive)


def _gauge(name: str, doc: str, value) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, doc)
    family.add_metric([], float(value or 0))
    return family
