"""/metrics across processes (PROMETHEUS_MULTIPROC_DIR, docs/deploy.md "Watching it run"): gunicorn
with two worker processes and deploy/gunicorn.conf.py, and a ``govflow worker`` writing into its own
directory, as the systemd units lay them out. One scrape, whichever process answers it, shows the
requests of both web processes and the timers the worker fired, and a killed web process's
requests stay counted."""
from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from datetime import datetime, timedelta, timezone

import pytest
import requests
import sqlalchemy as sa
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families

from engine.models import AuditChainHead
from tests.reliability.timers import REPO, TimerCases, WorkerProcess

pytestmark = [pytest.mark.postgres, pytest.mark.slow]
TIMERS = 25
LOGIN = {"method": "GET", "endpoint": "auth.login", "status": "200"}


def scrape(base: str) -> list:
    answer = requests.get(base + "/metrics", timeout=10)
    assert answer.status_code == 200, answer.text[:500]
    return [s for family in text_string_to_metric_families(answer.text) for s in family.samples]


def value(samples, name: str, **labels) -> float:
    return sum(s.value for s in samples if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()))


def per_process(directory, name: str, **labels) -> dict[int, float]:
    """Each process's own count, read from its file alone."""
    found = {}
    for path in sorted(directory.glob("counter_*.db")):
        samples = [s for m in MultiProcessCollector.merge([str(path)]) for s in m.samples]
        found[int(path.stem.split("_")[1])] = value(samples, name, **labels)
    return found


def web_processes(master: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(master)], capture_output=True, text=True).stdout.split()
    return sorted(int(p) for p in out)


def audit_head(engine) -> int:
    with engine.uow() as uow:
        return uow.session.scalar(sa.select(AuditChainHead.last_id)) or 0


def hit_login(base: str, n: int, threads: int = 8) -> None:
    """``n`` GETs of /login, each on a new connection, from ``threads`` threads at once (so that
    both worker processes take some)."""
    failures = []

    def run(count: int) -> None:
        for _ in range(count):
            answer = requests.get(base + "/login", timeout=10, headers={"Connection": "close"})
            if answer.status_code != 200:
                failures.append(answer.status_code)
    workers = [threading.Thread(target=run, args=(n // threads + (i < n % threads),)) for i in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(60)
    assert not failures, failures[:5]


def test_one_scrape_adds_up_both_web_processes_and_the_timer_worker(pg_county, server, tmp_path, monkeypatch):
    url, engine, tokens = pg_county
    root = tmp_path / "govflow-metrics"  # /run/govflow-metrics of the systemd units
    web_dir, worker_dir = root / "web", root / "worker-1"
    web_dir.mkdir(parents=True)
    worker_dir.mkdir()
    timers = TimerCases(url)
    timers.start(TIMERS, datetime.now(timezone.utc) + timedelta(seconds=2))
    before = audit_head(engine)  # what the processes below append is counted by them

    monkeypatch.delenv("GOVFLOW_METRICS_TOKEN", raising=False)
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(web_dir))  # the server fixture passes os.environ on
    monkeypatch.setenv("GOVFLOW_METRICS_DIRS", str(root / "*"))
    monkeypatch.setenv("GUNICORN_CMD_ARGS", f"--config {REPO / 'deploy' / 'gunicorn.conf.py'}")
    srv = server("gunicorn", workers=2)
    worker = WorkerProcess(url, tmp_path / "worker.log", {"PROMETHEUS_MULTIPROC_DIR": str(worker_dir)}).start()
    try:
        pids = web_processes(srv.proc.pid)
        assert len(pids) == 2, pids
        sent = 0
        for _ in range(10):  # until both processes have answered some
            hit_login(srv.base, 60)
            sent += 60
            served = per_process(web_dir, "govflow_http_requests_total", **LOGIN)
            if sum(1 for pid in pids if served.get(pid, 0) > 0) == 2:
                break
        assert timers.wait_all_fired(60), worker.log()

        samples = scrape(srv.base)
        served = per_process(web_dir, "govflow_http_requests_total", **LOGIN)
        print(f"\nmultiprocess /metrics: {sent} requests, per web process {served}")
        assert all(served.get(pid, 0) > 0 for pid in pids), served
        assert sum(served.values()) == sent
        assert value(samples, "govflow_http_requests_total", **LOGIN) == sent  # both processes, one scrape
        assert value(samples, "govflow_http_request_seconds_count", endpoint="auth.login") == sent
        assert value(samples, "govflow_timers_fired_total", kind="timer") == TIMERS  # the worker's
        assert value(samples, "govflow_timer_lateness_seconds_count") == TIMERS
        assert value(samples, "govflow_audit_records_appended_total") == audit_head(engine) - before
        assert value(samples, "govflow_http_requests_in_progress") == 1  # the scrape itself
        assert value(samples, "govflow_workers_alive") == 1  # from the database, as before
        assert not [s for s in samples if s.name.startswith("process_")]  # no one process's figures

        victim = pids[0]  # killed: the master replaces it; its gauge goes, its requests stay counted
        assert (web_dir / f"gauge_livesum_{victim}.db").exists()
        os.kill(victim, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and (victim in web_processes(srv.proc.pid)
                                               or len(web_processes(srv.proc.pid)) < 2):
            time.sleep(0.1)
        assert victim not in web_processes(srv.proc.pid) and len(web_processes(srv.proc.pid)) == 2
        assert not (web_dir / f"gauge_livesum_{victim}.db").exists()  # deploy/gunicorn.conf.py's child_exit
        assert (web_dir / f"counter_{victim}.db").exists()
        for _ in range(20):  # the new process is up when it answers
            if requests.get(srv.base + "/login", timeout=10, headers={"Connection": "close"}).status_code == 200:
                break
        after = scrape(srv.base)
        assert value(after, "govflow_http_requests_total", **LOGIN) >= sent + 1
        assert value(after, "govflow_timers_fired_total", kind="timer") == TIMERS
        assert value(after, "govflow_http_requests_in_progress") == 1
    finally:
        worker.stop()
        timers.close()


def test_without_the_variable_a_scrape_is_one_process(pg_county, server, monkeypatch):
    """As before: each gunicorn process counts and answers for itself (the default registry)."""
    url, engine, tokens = pg_county
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    monkeypatch.delenv("GOVFLOW_METRICS_TOKEN", raising=False)
    srv = server("gunicorn", workers=2)
    hit_login(srv.base, 80)
    seen = {value(scrape(srv.base), "govflow_http_requests_total", **LOGIN) for _ in range(20)}
    assert all(n <= 80 for n in seen), seen
    samples = scrape(srv.base)
    assert [s for s in samples if s.name == "process_cpu_seconds_total"]  # this process's own
