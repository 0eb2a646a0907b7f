"""Operations (issue 15 item 8): /metrics in Prometheus' format (requests, timers, due and overdue
tasks, audit appends, workers alive), local or with a token; /healthz tells the database and the
timer workers apart."""
from __future__ import annotations


from datetime import timedelta

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
