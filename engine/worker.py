"""``govflow worker``: an APScheduler scheduler that wakes at the earliest due instant.

New or moved deadlines reach a running worker within a second: on PostgreSQL through LISTEN/NOTIFY
(sent in the transaction that writes them), on SQLite by a one-second check of the earliest due time.
A wake-up fires batch after batch (``engine.timer_service.fire_round``) until nothing this worker can
take is due, and fires again at once if more fell due meanwhile; only then does it sleep, until the
next due instant (a ``DateTrigger``).
"""
from __future__ import annotations

import logging
import threading
import time
from datetime import datetime, timedelta, timezone

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger

from .calendar import BEIJING

from .audit import NOTIFY_CHANNEL
from .timer_service import due_instants, fire_round, recompute_deadlines
from . import retention
from .metrics import heartbeat, process_exited

log = logging.getLogger("govflow.worker")
SAFETY_POLL = timedelta(seconds=30)
# A timer that was due when a round ended but is still waiting was held by another worker (which
# fires it), failed, or belongs to a case that is no longer running: look again after RETRY, doubling
# while rounds keep leaving such timers, up to SAFETY_POLL (never a busy loop). Any round also takes
# whatever of them has become free.
RETRY = timedelta(seconds=1)
# A case whose firing fails (or finds nothing to fire although its deadline row says it is due) is
# left out of the rounds for 1 s, then 2 s, 4 s, ... up to CASE_RETRY_MAX, so that one broken case
# costs neither a busy loop nor a re-run in every round of a busy worker.
CASE_RETRY_MAX = 300.0


class TimerWorker:
    def __init__(self, engine):
        self.engine = engine
        self.scheduler = BackgroundScheduler(timezone=timezone.utc)
        self.stopping = threading.Event()
        self._lock = threading.Lock()  # one firing round at a time
        self._schedule_lock = threading.Lock()  # one decision about the next wake-up at a time
        self.scheduled_for: datetime | None = None
        self.fired_until: datetime | None = None  # engine clock: every timer due by then was fired or tried
        self.retry = RETRY
        self.backoff: dict[int, tuple[float, float]] = {}  # case id -> (monotonic retry time, delay)

    def start(self) -> None:
        """Catch up (recompute provisional deadlines, fire what fell due while down), then schedule."""
        recompute_deadlines(self.engine)
        self.fire()
        self.expire_grants()
        self.notify_expiring_grants()
        self.scheduler.start()
        self.scheduler.add_job(self.expire_grants, CronTrigger(hour=0, minute=1, timezone=BEIJING),
                               id="expire_grants", replace_existing=True, coalesce=True)
        self.scheduler.add_job(self.notify_expiring_grants, CronTrigger(hour=8, minute=0, timezone=BEIJING),
                               id="notify_expiring_grants", replace_existing=True, coalesce=True)
        self.scheduler.add_job(self.apply_retention, CronTrigger(hour=1, minute=30, timezone=BEIJING),
                               id="retention", replace_existing=True, coalesce=True)
        self.beat()
        self.scheduler.add_job(self.beat, "interval", seconds=30, id="heartbeat", replace_existing=True,
                               coalesce=True)
        self.reschedule()

    def apply_retention(self) -> None:
        """Anonymise contact data past the retention period (engine.retention)."""
        try:
            done = retention.apply(self.engine)
            if done:
                log.info("retention: %d records' contact data anonymised", done)
        except Exception:  # noqa: BLE001 - logged; tomorrow's run tries again
            log.exception("retention run failed")

    def beat(self) -> None:
        """Tell /healthz and /metrics this worker is alive (engine.metrics.heartbeat)."""
        try:
            heartbeat(self.engine)
        except Exception:  # noqa: BLE001 - a missed beat must never stop the firing
            log.exception("worker heartbeat failed")

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

    def notify_expiring_grants(self) -> list[int]:
        """Tell consumers their grants end soon (``grant_expiry_notice_days`` working days before the
        last day, once per grant): a daily run at 08:00 Beijing time, and on start (catch-up)."""
        from .grant_service import send_expiry_notices
        try:
            noticed = send_expiry_notices(self.engine)
        except Exception:  # noqa: BLE001 - retried by the next daily run
            log.exception("grant expiry notices failed")
            return []
        if noticed:
            log.info("told the consumers of %d grant(s) that they expire soon", len(noticed))
        return noticed

    def fire(self) -> int:
        """One round: fire every timer due now that no other worker holds; return timers fired."""
        with self._lock:
            mono = time.monotonic()
            skip = {case_id for case_id, (at, _) in self.backoff.items() if at > mono}
            try:
                result = fire_round(self.engine, log=log.warning, skip=skip)
            except BaseException:
                self.fired_until = self.engine.clock.now()  # what is due now waits for the retry
                raise
            self.fired_until = result.until
            self._back_off(result, mono)
        if result.fired:
            log.info("fired %d timer(s) in %d case(s), %d batch(es)%s", result.fired, len(result.done),
                     result.batches, f"; {len(result.failed)} case(s) failed" if result.failed else "")
        return result.fired

    def _back_off(self, result, mono: float) -> None:
        for case_id, fired in result.done.items():
            if fired:
                self.backoff.pop(case_id, None)
        for case_id in [*result.failed, *(c for c, fired in result.done.items() if not fired)]:
            delay = min(self.backoff.get(case_id, (0.0, RETRY.total_seconds() / 2))[1] * 2, CASE_RETRY_MAX)
            self.backoff[case_id] = (mono + delay, delay)
        for case_id in [c for c, (at, _) in self.backoff.items() if at < mono - CASE_RETRY_MAX]:
            del self.backoff[case_id]  # not found due again for a long while: fixed or gone

    def _tick(self) -> None:
        """Fire; while more timers have fallen due in the meantime, fire again; then sleep."""
        while not self.stopping.is_set():
            try:
                self.fire()
            except Exception:  # noqa: BLE001 - a failed round must not kill the worker; the retry does it again
                log.exception("firing timers failed; retrying in %s", self.retry)
                self.reschedule(firing=True, again=False)
                return
            if not self.reschedule(firing=True):
                return

    def reschedule(self, firing: bool = False, again: bool = True) -> bool:
        """Point the single job at the earliest due instant (or the retry, or the safety poll).

        Returns True if something is due right now and the caller is the firing job (``firing``),
        which then fires again itself: a job added from inside the running job may be dropped by
        APScheduler (its ``max_instances``), and the round trip through the scheduler is wasted time.
        ``again=False`` (the round failed): not at once, after the retry.
        """
        if self.stopping.is_set():
            return False
        if not firing and self._lock.locked():
            return False  # a round is in progress; it reschedules when it ends
        with self._schedule_lock:
            now = self.engine.clock.now()  # due instants are on the engine's clock, the job on the wall's
            wall = datetime.now(timezone.utc)
            try:
                upcoming, earliest = due_instants(self.engine, self.fired_until)
            except Exception:  # noqa: BLE001 - the database is away: look again after the retry
                log.exception("reading the next due instant failed")
                stuck, at = True, now + self.retry
            else:
                at = min(upcoming, now + SAFETY_POLL) if upcoming is not None else now + SAFETY_POLL
                stuck = earliest is not None and self.fired_until is not None and earliest <= self.fired_until
                if stuck:
                    at = min(at, now + self.retry)  # left over from the last round: see RETRY
            if firing:  # after a round: the next leftover retry waits twice as long, or starts again
                self.retry = min(self.retry * 2, SAFETY_POLL) if stuck else RETRY
            if at <= now and firing:
                if again:
                    return True
                at = now + self.retry
            run_date = wall + max(at - now, timedelta(0))
            pending = self.scheduled_for is not None and self.scheduled_for > wall
            if pending and self.scheduled_for <= run_date:
                return False  # the job already wakes up early enough
            self.scheduled_for = run_date
            # max_instances=2: a wake-up that comes due while the previous run is still returning
            # must not be dropped; the firing lock keeps rounds one at a time.
            self.scheduler.add_job(self._tick, DateTrigger(run_date=run_date), id="fire", replace_existing=True,
                                   misfire_grace_time=None, coalesce=True, max_instances=2)
            return False

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
        while not self.stopping.is_set():
            try:
                with psycopg.connect(dsn, autocommit=True) as conn:
                    conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
                    self.reschedule()  # what changed while not listening (start, reconnect)
                    while not self.stopping.is_set():
                        heard = any(True for _ in conn.notifies(timeout=1.0, stop_after=1))
                        if heard:  # a burst of commits: one reschedule for all of them
                            for _ in conn.notifies(timeout=0.01):
                                pass
                            self.reschedule()  # silence needs no query: the job and the safety poll stand
            except psycopg.OperationalError:
                log.exception("listening for deadline changes failed; reconnecting")
                self.stopping.wait(1.0)

    def stop(self) -> None:
        """Stop scheduling, then wait for a firing round in progress to finish.

        ``shutdown(wait=True)`` would deadlock: APScheduler holds its job-store lock while it waits
        for the executor, and a running tick needs that lock to reschedule.
        """
        self.stopping.set()
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        with self._lock:
            pass


def run_worker(engine, once: bool = False) -> None:
    from .logs import configure
    configure()  # structured lines (GOVFLOW_LOG_FORMAT=json), with the case id where there is one
    worker = TimerWorker(engine)
    try:
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
    finally:
        process_exited()  # PROMETHEUS_MULTIPROC_DIR: this process's live gauges leave /metrics' sum
