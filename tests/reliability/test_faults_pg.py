"""Faults on PostgreSQL: the web server killed with SIGKILL in the middle of a crowd's completions
(restarted, nothing lost, half-written or advanced twice), and the app's database connections
terminated under it (the next requests work: pool_pre_ping). The timer worker killed mid-batch is
tests/integration/test_workers_pg.py."""
from __future__ import annotations

import pytest
import requests
import sqlalchemy as sa

from tests.conftest import PG_URL
from tests.reliability.crowd import run_crowd
from tests.reliability.test_load_pg import check_accounted

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
    import os
    import signal
    import subprocess
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
