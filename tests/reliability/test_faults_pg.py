"""Faults on PostgreSQL: the web server killed with SIGKILL in the middle of a crowd's completions
(restarted, nothing lost, half-written or advanced twice), and the app's database connections
terminated under it (the next requests work: pool_pre_ping). A web process and a timer worker
killed in turn, under the crowd while timers fall due, is the last test here; the timer worker
killed mid-batch alone is tests/integration/test_workers_pg.py."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from datetime import datetime, timedelta, timezone

import pytest
import requests
import sqlalchemy as sa

from tests.conftest import PG_URL
from tests.reliability.crowd import run_crowd
from tests.reliability.test_load_pg import check_accounted
from tests.reliability.timers import TimerCases, WorkerProcess

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def test_sigkill_of_the_web_server_mid_operation_loses_and_doubles_nothing(pg_county, server):
    url, engine, tokens = pg_county
    srv = server("waitress", threads=8)
    killed = []

    def kill_midway(elapsed):
        if elapsed > 3 and not killed:
            srv.kill()
            killed.append(elapsed)

    before, _ = run_crowd(srv.base, tokens, 5, during=kill_midway)
    assert killed and before.started, before.summary(5)
    check_accounted(engine, before)  # everything answered before the kill is there, all consistent

    srv.start()  # the restarted server carries on where the crowd left off
    after, seconds = run_crowd(srv.base, tokens, 4)
    assert after.connection_errors == 0 and after.started and after.completed, after.summary(seconds)
    check_accounted(engine, after)
    assert not set(before.completed) & set(after.completed)


def terminate_backends(url: str) -> int:
    """Drop this county's connections only (other runs may share the server)."""
    app_name = sa.engine.make_url(url).query["application_name"]
    admin = sa.create_engine(PG_URL)
    with admin.connect() as conn:
        killed = conn.execute(sa.text(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid() AND application_name = :app"
        ), {"app": app_name}).scalar()
    admin.dispose()
    return killed


def test_dropped_database_connections_give_a_clear_error_or_a_retry_then_work(pg_county, server):
    url, engine, tokens = pg_county
    srv = server("waitress", threads=4)
    http = requests.Session()
    http.headers["Authorization"] = f"Bearer {tokens['clerk.a']}"
    for _ in range(5):  # the server's pool holds connections now
        assert http.get(srv.base + "/api/v1/tasks?tab=unclaimed").status_code == 200
    assert terminate_backends(url) >= 1
    first = http.post(srv.base + "/api/v1/cases", json={"process_id": "review_loop", "data": {"topic": "断线后"}})
    assert first.status_code in (201, 500, 503), first.text
    if first.status_code != 201:  # a clear JSON error, never a stack trace
        body = first.json()
        assert body["code"] and "Traceback" not in first.text, body
    for _ in range(3):
        again = http.post(srv.base + "/api/v1/cases", json={"process_id": "review_loop", "data": {"topic": "恢复"}})
        assert again.status_code == 201, again.text
    page = requests.get(srv.base + "/login")
    assert page.status_code == 200


def test_two_web_processes_behind_one_port_killed_one_at_a_time_lose_nothing(pg_county, server):
    """The deployment of docs/deploy.md as far as one machine allows: gunicorn's master on one port
    with two worker processes; under the crowd each worker is SIGKILLed in turn (the master starts
    a new one). Whatever was answered is in the database, consistent, nothing done twice."""
    url, engine, tokens = pg_county
    srv = server("gunicorn", workers=2)
    killed: list[int] = []

    def workers() -> list[int]:
        found = subprocess.run(["pgrep", "-P", str(srv.proc.pid)], capture_output=True, text=True).stdout.split()
        return [int(p) for p in found]

    def kill_one_at_a_time(elapsed):
        if len(killed) < 2 and elapsed > 2 + 3 * len(killed):
            alive = [p for p in workers() if p not in killed]
            if alive:
                os.kill(alive[0], signal.SIGKILL)
                killed.append(alive[0])

    tally, seconds = run_crowd(srv.base, tokens, 9, during=kill_one_at_a_time)
    assert len(killed) == 2, killed
    assert tally.started and tally.completed, tally.summary(seconds)
    check_accounted(engine, tally)
    assert len(workers()) == 2  # the master replaced both
    after, _ = run_crowd(srv.base, tokens, 2)
    assert after.connection_errors == 0 and after.started, after.summary(2)
    check_accounted(engine, after)


def workers_alive(engine) -> int:
    """Timer workers with a heartbeat: they beat once their start (and its catch-up round) is done."""
    from engine.metrics import workers_alive as alive
    with engine.uow() as uow:
        return alive(uow.session, datetime.now(timezone.utc))


def wait_for(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()


BURSTS, BURST = 6, 40  # bursts of timers due at the same instant, 1.6 s apart through the crowd's run
EVERY = 1.6


def test_a_web_process_and_a_timer_worker_killed_in_turn_under_load_lose_and_double_nothing(
        pg_county, server, tmp_path):
    """The whole machine of docs/deploy.md under fire: gunicorn with two web processes on one port
    and two ``govflow worker`` processes on the same schema, the crowd on the web processes, and
    bursts of timers falling due all through the run (tests/reliability/timers.py). One worker is
    SIGKILLed while it fires a burst and started again; then one web process is SIGKILLed (the
    master starts another). Every answered start and completion is in the database, consistent and
    done once; every timer fired exactly once; both kinds of process are back."""
    url, engine, tokens = pg_county
    srv = server("gunicorn", workers=2)
    timers = TimerCases(url)
    events: dict[str, object] = {}
    workers = [WorkerProcess(url, tmp_path / f"worker-{n}.log") for n in (1, 2)]
    try:
        # The timers are started before the crowd (under it each start waits for the audit chain's
        # lock). How long a few starts take says when the bursts can fall due: in the crowd's run.
        timers.start(1, datetime.now(timezone.utc))  # the first start reads the diagram: not timed
        began = time.monotonic()
        timers.start(9, datetime.now(timezone.utc))  # due at once: the workers fire them as they start
        per_case = (time.monotonic() - began) / 9
        for w in workers:
            w.start()
        assert wait_for(lambda: workers_alive(engine) == 2, 60), "\n".join(w.log() for w in workers)
        anchor = datetime.now(timezone.utc) + timedelta(seconds=1 + per_case * BURSTS * BURST)
        bursts = [(anchor + timedelta(seconds=1.5 + EVERY * k), []) for k in range(BURSTS)]
        for due, ids in bursts:
            timers.start(BURST, due, into=ids)
        time.sleep(max((anchor - datetime.now(timezone.utc)).total_seconds(), 0.0))
        events["bursts_due_before_the_crowd"] = sum(1 for due, _ in bursts if due <= datetime.now(timezone.utc))

        def web_processes() -> list[int]:
            found = subprocess.run(["pgrep", "-P", str(srv.proc.pid)], capture_output=True, text=True).stdout.split()
            return [int(p) for p in found]

        def burst_being_fired(started_only: bool) -> tuple[int, int] | None:
            """(fired, of) for a burst that is due and not all fired; ``started_only``: some fired."""
            now = datetime.now(timezone.utc)
            for due, ids in bursts:
                if due <= now:
                    fired = timers.fired(ids)
                    if fired < BURST and (fired > 0 or not started_only):
                        return fired, BURST
            return None

        def kill_in_turn(elapsed: float) -> None:
            if "worker_killed_at" not in events and elapsed > 2:
                # mid-round if caught (some of a due burst fired, not all); later, at a due burst
                state = burst_being_fired(started_only=elapsed < 6) if elapsed < 9 else (-1, BURST)
                if state:
                    victim = workers[0]
                    events["worker_pid"] = victim.proc.pid
                    victim.kill()  # SIGKILL: it may hold a round's transaction and its row locks
                    events["worker_killed_at"], events["burst_fired_at_worker_kill"] = round(elapsed, 1), state
            elif "worker_killed_at" in events and "worker_restarted_at" not in events and \
                    elapsed > events["worker_killed_at"] + 1.5:
                workers[0].start()
                events["worker_restarted_at"] = round(elapsed, 1)
            elif "worker_restarted_at" in events and "web_killed_at" not in events and \
                    elapsed > max(8.0, events["worker_restarted_at"] + 1.5):
                victim = web_processes()[0]
                os.kill(victim, signal.SIGKILL)  # gunicorn's master starts another
                events["web_pid"], events["web_killed_at"] = victim, round(elapsed, 1)

        last_due = (bursts[-1][0] - datetime.now(timezone.utc)).total_seconds()
        tally, seconds = run_crowd(srv.base, tokens, max(13.0, last_due + 3), during=kill_in_turn)
        assert {"worker_killed_at", "worker_restarted_at", "web_killed_at"} <= set(events), events
        events["fired_when_crowd_ended"] = timers.fired()
        assert timers.wait_all_fired(90), f"{timers.fired()} of {len(timers.due)} fired\n" + \
            "\n".join(w.log() for w in workers)
        time.sleep(1.5)  # give any would-be double firing the time to commit
        assert all(w.alive() for w in workers), "\n".join(w.log() for w in workers)
        web_now = web_processes()
        assert len(web_now) == 2 and events["web_pid"] not in web_now, web_now

        accounting = timers.accounting()
        summary = tally.summary(seconds)
        print("\nkilled together (gunicorn: 2 web processes; 2 timer workers; PostgreSQL):",
              json.dumps({**summary, **events, "timers": accounting["cases"],
                          "timers_fired_once": sum(1 for n in accounting["fires"].values() if n == 1),
                          "timer_late_p50_s": accounting["late_p50_s"], "timer_late_max_s": accounting["late_max_s"]},
                         ensure_ascii=False, default=str))
        assert timers.problems() == []  # every timer fired exactly once, every timer case completed
        assert accounting["cases"] == 10 + BURSTS * BURST
        assert tally.started and tally.completed, summary
        check_accounted(engine, tally)
        assert workers[0].pids == [events["worker_pid"], workers[0].proc.pid]  # killed, then started again

        after, after_seconds = run_crowd(srv.base, tokens, 2)  # the replaced web process serves
        assert after.connection_errors == 0 and after.started, after.summary(after_seconds)
        check_accounted(engine, after)
        assert not set(tally.completed) & set(after.completed)
    finally:
        for w in workers:
            w.stop()
        timers.close()
