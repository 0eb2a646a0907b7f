"""``govflow worker``: an APScheduler scheduler that wakes at the earliest due instant.

New or moved deadlines reach a running worker within a second: on PostgreSQL through LISTEN/NOTIFY
(sent in the transaction that writes them), on SQLite by a one-second check of the earliest due time.
"""
from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta, timezone

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger

from .calendar import BEIJING

from .deadlines import NOTIFY_CHANNEL
from .timer_service import fire_due_timers, next_due, recompute_deadlines

log = logging.getLogger("govflow.worker")
SAFETY_POLL = timedelta(seconds=30)


class TimerWorker:
    def __init__(self, engine):
        self.engine = engine
        self.scheduler = BackgroundScheduler(timezone=timezone.utc)
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self.scheduled_for: datetime | None = None

    def start(self) -> None:
        """Catch up (recompute provisional deadlines, fire what fell due while down), then schedule."""
        recompute_deadlines(self.engine)
        self.fire()
        self.expire_grants()
        self.scheduler.start()
        self.scheduler.add_job(self.expire_grants, CronTrigger(hour=0, minute=1, timezone=BEIJING),
                               id="expire_grants", replace_existing=True, coalesce=True)
        self.reschedule()

    def expire_grants(self) -> None:
        """Grants end with their period (art. 14): a daily sweep just after midnight, Beijing time."""
        from .domain.grants import GRANT_EXPIRY_ACTOR, expire_grants
        now = self.engine.clock.now()
        try:
            with self.engine.uow() as uow:
                expired = expire_grants(uow, now.astimezone(BEIJING).date(), GRANT_EXPIRY_ACTOR, now)
                uow.commit()
        except Exception:  # noqa: BLE001 - retried by the next daily run
            log.exception("expiring grants failed")
            return
        if expired:
            log.info("expired %d grant(s)", len(expired))

    def fire(self) -> None:
        with self._lock:
            fired = fire_due_timers(self.engine, log=log.warning)
        if fired:
            log.info("fired %d timer(s)", fired)

    def _tick(self) -> None:
        try:
            self.fire()
        except Exception:  # noqa: BLE001 - a failed round must not kill the worker; next tick retries
            log.exception("firing timers failed; retrying on the next wake-up")
        self.reschedule()

    def reschedule(self) -> None:
        """Point the single job at the earliest due instant (or the safety poll)."""
        if self.stopping.is_set():
            return
        now = datetime.now(timezone.utc)
        due = next_due(self.engine)
        at = max(min(due, now + SAFETY_POLL) if due is not None else now + SAFETY_POLL, now)
        pending = self.scheduled_for is not None and self.scheduled_for > now
        if pending and self.scheduled_for <= at:
            return  # the job already wakes up early enough
        self.scheduled_for = at
        self.scheduler.add_job(self._tick, DateTrigger(run_date=at), id="fire", replace_existing=True,
                               misfire_grace_time=None, coalesce=True, max_instances=1)

    def listen(self) -> None:
        """Block, rescheduling whenever deadlines change, until ``stop``."""
        if self.engine.db_engine.dialect.name == "postgresql":
            self._listen_postgres()
        else:
            while not self.stopping.wait(1.0):
                self.reschedule()

    def _listen_postgres(self) -> None:
        import psycopg
        url = self.engine.db_engine.url.set(drivername="postgresql")
        dsn = url.render_as_string(hide_password=False)
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
            while not self.stopping.is_set():
                for _ in conn.notifies(timeout=1.0, stop_after=1):
                    pass
                self.reschedule()

    def stop(self) -> None:
        """Stop scheduling, then wait for a firing round in progress to finish.

        ``shutdown(wait=True)`` would deadlock: APScheduler holds its job-store lock while it waits
        for the executor, and a running tick needs that lock to reschedule.
        """
        self.stopping.set()
        self.scheduler.shutdown(wait=False)
        with self._lock:
            pass


def run_worker(engine, once: bool = False) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    for noisy in ("spiff", "apscheduler"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    worker = TimerWorker(engine)
    if once:
        recompute_deadlines(engine)
        worker.fire()
        return
    worker.start()
    log.info("timer worker running on %s", engine.db_engine.url.render_as_string(hide_password=True))
    try:
        worker.listen()
    except KeyboardInterrupt:
        pass
    finally:
        worker.stop()
