"""Operations (issue 15 item 8): /metrics in Prometheus' format (requests, timers, due and overdue
tasks, audit appends, workers alive), local or with a token; /healthz tells the database and the
timer workers apart. Across processes (PROMETHEUS_MULTIPROC_DIR): the host view's adding-up here,
gunicorn and a timer worker in tests/reliability/test_metrics_multiproc.py."""
from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from prometheus_client import REGISTRY, CollectorRegistry, generate_latest, multiprocess
from prometheus_client.parser import text_string_to_metric_families

from engine import metrics
from engine.models import Deadline
from tests.e2e.conftest import open_task, start_case


def scrape(client, **kw) -> dict[str, float]:
    answer = client.get("/metrics", **kw)
    assert answer.status_code == 200, answer.status_code
    found = {}
    for family in text_string_to_metric_families(answer.get_data(as_text=True)):
        for sample in family.samples:
            found.setdefault(sample.name, 0.0)
            found[sample.name] += sample.value
    return found


def test_the_figures_follow_what_happens(client, engine, clock):
    before = scrape(client)
    case_id = start_case(engine)
    assert open_task(engine, case_id)
    with engine.uow() as uow:  # a timer of the case, due tomorrow, that no worker fires
        uow.session.add(Deadline(id="t-metrics", case_id=case_id, element_id="remind", kind="reminder",
                                 due_at=clock.now() + timedelta(days=1), state="waiting", created_at=clock.now()))
        uow.commit()
    clock.advance(days=30)
    after = scrape(client)
    assert after["govflow_tasks_open"] == before["govflow_tasks_open"] + 1
    assert after["govflow_audit_records"] > before["govflow_audit_records"]
    assert after["govflow_audit_records_appended_total"] > before["govflow_audit_records_appended_total"]
    assert after["govflow_timers_past_due"] == before["govflow_timers_past_due"] + 1
    assert after["govflow_timer_oldest_past_due_seconds"] == 29 * 86400
    assert after["govflow_http_requests_total"] >= 1 and after["govflow_workers_alive"] == 0


def test_metrics_are_for_the_machine_itself_or_a_token_holder(client, monkeypatch):
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "203.0.113.5"}).status_code == 403
    monkeypatch.setenv("GOVFLOW_METRICS_TOKEN", "scrape-token-0123456789")
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer scrape-token-0123456789"},
                      environ_base={"REMOTE_ADDR": "203.0.113.5"}).status_code == 200


def test_healthz_tells_a_living_worker_from_none(client, engine):
    assert client.get("/healthz").get_json()["workers"] == "none"
    metrics.heartbeat(engine)
    health = client.get("/healthz").get_json()
    assert health == {"status": "ok", "database": "ok", "workers": "ok", "workers_alive": 1}


def test_a_scrape_counts_the_request_in_progress_and_this_process_only_by_default(client):
    assert not metrics.multiprocess() and metrics.counted_registry() is REGISTRY  # unset: as before
    found = scrape(client)
    assert found["govflow_http_requests_in_progress"] == 1  # the scrape itself
    assert "process_cpu_seconds_total" in found or "python_info" in found
    assert scrape(client)["govflow_http_requests_in_progress"] == 1  # the last one was done


COUNTING = """
import os, sys
from engine import metrics
metrics.AUDIT_APPENDS.inc(int(sys.argv[1]))
metrics.TIMERS_FIRED.labels("timer").inc(int(sys.argv[2]))
from web.metrics import IN_PROGRESS
IN_PROGRESS.inc()
if sys.argv[3] == "exit":
    metrics.process_exited()  # what govflow worker does as it ends (engine.worker.run_worker)
print(os.getpid())
"""


def test_the_host_view_adds_up_processes_across_directories(tmp_path):
    """PROMETHEUS_MULTIPROC_DIR per service, GOVFLOW_METRICS_DIRS a pattern over them (the systemd
    units' layout): three processes in two directories, added up; an ended one's live gauge goes
    (process_exited), its counters stay; a directory made on first use."""
    root = tmp_path / "metrics"
    repo = Path(__file__).resolve().parents[2]

    def run(directory: Path, appends: int, fired: int, end: str = "") -> int:
        env = dict(os.environ, PROMETHEUS_MULTIPROC_DIR=str(directory), PYTHONPATH=str(repo))
        done = subprocess.run([sys.executable, "-c", COUNTING, str(appends), str(fired), end], cwd=repo, env=env,
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        return int(done.stdout.split()[-1])

    web_a = run(root / "web", 2, 0)
    run(root / "web", 3, 0)
    worker = run(root / "worker-1", 5, 7, "exit")
    assert not (root / "worker-1" / f"gauge_livesum_{worker}.db").exists()
    env = {"PROMETHEUS_MULTIPROC_DIR": str(root / "web"), "GOVFLOW_METRICS_DIRS": f"{root}/*:{root}/nowhere"}
    assert sorted(metrics.metric_dirs(env)) == [str(root / "web"), str(root / "worker-1")]

    def host() -> dict[str, float]:
        registry = CollectorRegistry()
        registry.register(metrics.HostCollector(metrics.metric_dirs(env)))
        found: dict[str, float] = {}
        for family in text_string_to_metric_families(generate_latest(registry).decode()):
            for sample in family.samples:
                found[sample.name] = found.get(sample.name, 0.0) + sample.value
        return found

    found = host()
    assert found["govflow_audit_records_appended_total"] == 10 and found["govflow_timers_fired_total"] == 7
    assert found["govflow_http_requests_in_progress"] == 2  # livesum: the web processes, not yet marked dead
    multiprocess.mark_process_dead(web_a, str(root / "web"))  # what gunicorn's child_exit hook does
    found = host()
    assert found["govflow_http_requests_in_progress"] == 1
    assert found["govflow_audit_records_appended_total"] == 10  # counters of ended processes stay
    assert metrics.metric_dirs({"PROMETHEUS_MULTIPROC_DIR": str(root / "web")}) == [str(root / "web")]
