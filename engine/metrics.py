"""Operations' figures in Prometheus' format (issue 15), for ``/metrics``:

* counted in each process: audit records appended, timers fired and how late (``due`` → fired);
* read from the database at every scrape, so the same whatever process answers: open and overdue
  tasks (``engine.deadline_state``), timers past due and not yet fired (and the oldest's lateness),
  open supervision items, the audit chain's length, and the timer workers alive (their heartbeats).

Several processes (gunicorn's workers, the timer workers) each count their own. Without
``PROMETHEUS_MULTIPROC_DIR`` a scrape sees the one process that answers it. With it set (in every
process's environment before it starts) prometheus_client keeps each process's counts in files
there, and ``/metrics`` adds up the files of every directory in ``GOVFLOW_METRICS_DIRS`` (glob
patterns separated by ``:``; default: ``PROMETHEUS_MULTIPROC_DIR`` alone), so one scrape shows the
whole host: the web processes and the timer workers (docs/deploy.md, "Watching it run"). A process
that ends calls ``process_exited`` (gunicorn's ``child_exit`` hook does it for its workers,
deploy/gunicorn.conf.py): its live gauges leave the sum, its counters stay in it.
"""
from __future__ import annotations

import glob
import os
import socket
import struct
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram
from prometheus_client import multiprocess as _multiprocess
from prometheus_client import values as _values
from prometheus_client.core import GaugeMetricFamily

MULTIPROC_DIR = "PROMETHEUS_MULTIPROC_DIR"  # where this process writes its counts (prometheus_client)
METRICS_DIRS = "GOVFLOW_METRICS_DIRS"  # what /metrics adds up: directories or glob patterns, ':'-separated


def multiprocess() -> bool:
    """True when prometheus_client counts in files: ``PROMETHEUS_MULTIPROC_DIR`` was set when it was
    first imported (it decides then, once for the process)."""
    return bool(getattr(_values.ValueClass, "_multiprocess", False))


if multiprocess():  # the metrics below open their files as they are defined
    os.makedirs(os.environ[MULTIPROC_DIR], exist_ok=True)

# Counted by the process that does it; a scrape adds up the host's processes in multiprocess mode.
AUDIT_APPENDS = Counter("govflow_audit_records_appended_total", "Audit records appended")
TIMERS_FIRED = Counter("govflow_timers_fired_total", "Timers fired", ["kind"])
TIMER_LATENESS = Histogram("govflow_timer_lateness_seconds", "From a timer's due instant to its firing",
                           buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 3600))
HEARTBEAT_PREFIX = "worker_heartbeat:"
READ_ATTEMPTS = 3  # a process's file may vanish mid-scrape (its service restarted): read again


def metric_dirs(environ=None) -> list[str]:
    """The directories /metrics adds up: this process's own and those ``GOVFLOW_METRICS_DIRS``
    matches (each entry a directory or a glob pattern such as ``/run/govflow-metrics/*``)."""
    env = os.environ if environ is None else environ
    patterns = [env.get(MULTIPROC_DIR, ""), *env.get(METRICS_DIRS, "").split(os.pathsep)]
    found: dict[str, str] = {}
    for pattern in filter(None, (p.strip() for p in patterns)):
        for path in sorted(glob.glob(pattern)):
            if os.path.isdir(path):
                found.setdefault(os.path.realpath(path), path)
    return list(found.values())


class HostCollector:
    """Every process's counters, histograms and gauges in the multiprocess directories, added up
    (prometheus_client's ``MultiProcessCollector``, over several directories)."""

    def __init__(self, dirs: list[str]):
        self.dirs = dirs

    def files(self) -> list[str]:
        return sorted(f for d in self.dirs for f in glob.glob(os.path.join(d, "*.db")))

    def collect(self):
        for attempt in range(READ_ATTEMPTS):
            try:
                return _multiprocess.MultiProcessCollector.merge(self.files(), accumulate=True)
            except (FileNotFoundError, struct.error):  # removed, or not yet written, since the glob
                if attempt == READ_ATTEMPTS - 1:
                    raise
        return []


def counted_registry() -> CollectorRegistry:
    """What /metrics reports beside the database's figures: this process's counts (the default
    registry), or, in multiprocess mode, every process's of the directories (``metric_dirs``)."""
    if not multiprocess():
        return REGISTRY
    registry = CollectorRegistry()
    registry.register(HostCollector(metric_dirs()))
    return registry


def process_exited(pid: int | None = None) -> None:
    """A process (``pid``, default this one) has ended: its live gauges leave the multiprocess
    directory; its counters stay and keep adding up. Nothing to do in single-process mode."""
    if multiprocess() and os.environ.get(MULTIPROC_DIR):
        _multiprocess.mark_process_dead(os.getpid() if pid is None else pid)


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
