"""Load: the app under gunicorn (3 workers) on PostgreSQL, a crowd of clerks starting and
completing cases and two sessions of a department head racing for the same approvals for ~20 s.
No 5xx, no lost update (every case answered 201 is in the database, consistent with its tasks and
audit), no task completed twice. Throughput and latency are printed, never asserted."""
from __future__ import annotations

import json
import os

import pytest
import sqlalchemy as sa

from engine.models import Case, HumanTask
from tests.reliability.conftest import consistency_problems
from tests.reliability.crowd import run_crowd

pytestmark = [pytest.mark.postgres, pytest.mark.slow]
SECONDS = float(os.environ.get("GOVFLOW_LOAD_SECONDS", "20"))


def check_accounted(engine, tally) -> None:
    assert not tally.server_errors, tally.server_errors[:5]
    twice = [t for t, n in tally.completed.items() if n > 1]
    assert not twice, f"tasks answered 200 to two completions: {twice[:5]}"
    with engine.uow() as uow:
        s = uow.session
        cases = set(s.scalars(sa.select(Case.id)))
        done = set(s.scalars(sa.select(HumanTask.id).where(HumanTask.state == "completed")))
    assert tally.started <= cases, f"cases answered 201 but missing: {sorted(tally.started - cases)[:5]}"
    assert set(tally.completed) <= done, f"completions answered 200 but not recorded: {sorted(set(tally.completed) - done)[:5]}"
    problems = consistency_problems(engine)
    assert not problems, problems[:10]


def test_a_crowd_under_gunicorn_loses_nothing(pg_county, server):
    url, engine, tokens = pg_county
    srv = server("gunicorn", workers=3)
    tally, seconds = run_crowd(srv.base, tokens, SECONDS)
    summary = tally.summary(seconds)
    print("\nload (gunicorn, 3 workers, PostgreSQL):", json.dumps(summary, ensure_ascii=False))
    assert tally.connection_errors == 0
    assert summary["cases_started"] > 0 and summary["tasks_completed"] > 0, summary
    assert tally.statuses.get(409, 0) >= 0  # the heads' race: losers get 409 (counted, not required)
    check_accounted(engine, tally)
