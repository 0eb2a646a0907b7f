"""The running worker: sleeps until the earliest due instant and hears new deadlines at once."""
from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

from engine.clock import SystemClock
from engine.models import Deadline
from engine.uow import Actor
from engine.worker import SAFETY_POLL, TimerWorker
from tests.conftest import FIXTURES, make_engine


def test_worker_fires_a_deadline_created_while_it_sleeps_within_a_second(db_url):
    engine = make_engine(db_url, SystemClock(), procedures={})
    engine.deploy((FIXTURES / "timer_only.bpmn").read_bytes())
    worker = TimerWorker(engine)
    worker.start()
    listener = threading.Thread(target=worker.listen, daemon=True)
    listener.start()
    try:
        time.sleep(0.5)
        assert worker.scheduled_for >= datetime.now(timezone.utc) + SAFETY_POLL - timedelta(seconds=2)
        due = datetime.now(timezone.utc) + timedelta(seconds=1.5)
        case_id = engine.start_case("timer_only", Actor("clerk"), {"fire_at": due.isoformat()})
        fired_at = None
        for _ in range(100):
            with engine.uow() as uow:
                row = uow.session.scalars(sa.select(Deadline).where(Deadline.case_id == case_id)).one()
            if row.state == "fired":
                fired_at = row.fired_at
                break
            time.sleep(0.05)
        assert fired_at is not None, "the worker did not fire the new deadline"
        lateness = (fired_at - due).total_seconds()
        assert 0 <= lateness < 1.5, lateness  # woken by the notification, not the 30 s safety poll
    finally:
        worker.stop()
        listener.join(timeout=5)
        engine.db_engine.dispose()


def test_catch_up_on_start_fires_what_fell_due_while_down(db_url, clock):
    engine = make_engine(db_url, clock, procedures={})
    engine.deploy((FIXTURES / "timer_only.bpmn").read_bytes())
    due = clock.now() + timedelta(minutes=5)
    ids = [engine.start_case("timer_only", Actor("clerk"), {"fire_at": due.isoformat()}) for _ in range(3)]
    clock.advance(hours=2)  # the worker was down for two hours
    worker = TimerWorker(engine)
    worker.start()
    try:
        with engine.uow() as uow:
            states = set(uow.session.scalars(sa.select(Deadline.state).where(Deadline.case_id.in_(ids))))
        assert states == {"fired"}
    finally:
        worker.stop()
        engine.db_engine.dispose()
