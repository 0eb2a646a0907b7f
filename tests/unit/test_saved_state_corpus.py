"""Saved case states from tests/fixtures/saved_states must load and finish with the current library.

The files are written by make_corpus.py and never regenerated in place; a SpiffWorkflow upgrade that
can no longer read or run a case saved by an earlier version fails here instead of in production.
"""
from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest
from SpiffWorkflow.util.task import TaskState

from engine.clock import FrozenClock
from engine.spiff.script import GovScriptEngine
from engine.spiff.serializer import CaseSerializer

CORPUS = Path(__file__).resolve().parent.parent / "fixtures" / "saved_states"
FILES = sorted(CORPUS.glob("*.json"))
STEPS = {"just_started", "after_first_submit", "after_send_back", "completed"}


def script_engine() -> GovScriptEngine:
    """review_loop's diagram functions, without the engine's context argument."""
    return GovScriptEngine(FrozenClock(datetime(2026, 3, 2, 1, 0, tzinfo=timezone.utc)), {
        "is_returned": lambda decision: decision == "return",
        "record_approval": lambda summary: f"approved:{summary}",
    })


def ready_user_tasks(workflow):
    return workflow.get_tasks(state=TaskState.READY, manual=True)


def restore(path: Path):
    saved = json.loads(path.read_text(encoding="utf-8"))
    serializer = CaseSerializer()
    bundle = serializer.loads_spec(saved["spec_json"])
    workflow = serializer.loads_state(saved["state"], bundle)
    workflow.script_engine = script_engine()
    return saved, workflow


def test_corpus_covers_every_step():
    missing = {step for step in STEPS if not any(p.stem.endswith(f"_{step}") for p in FILES)}
    assert not missing, f"missing saved states: {sorted(missing)}; run make_corpus.py"


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_saved_state_matches_its_expectations(path):
    saved, workflow = restore(path)
    expected = saved["expected"]
    ready = ready_user_tasks(workflow)
    assert [t.task_spec.name for t in ready] == expected["ready"]
    assert workflow.is_completed() is expected["completed"]
    data = ready[0].data if ready else workflow.data
    assert {k: data.get(k) for k in expected["data"]} == expected["data"]


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_saved_state_runs_to_the_end(path):
    _, workflow = restore(path)
    answers = {"submit": {"summary": "补正后提交", "pages": 4}, "approve": {"decision": "approve"}}
    for _ in range(10):
        ready = ready_user_tasks(workflow)
        if not ready:
            break
        (task,) = ready
        task.set_data(**answers[task.task_spec.name])
        task.run()
        workflow.do_engine_steps()
    assert workflow.is_completed()
    assert workflow.data["decision"] == "approve"
    assert workflow.data["outcome"] == f"approved:{workflow.data['summary']}"


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_saved_state_survives_a_second_save(path):
    saved, workflow = restore(path)
    serializer = CaseSerializer()
    bundle = serializer.loads_spec(saved["spec_json"])
    again = serializer.loads_state(serializer.dumps_state(workflow), bundle)
    assert [t.id for t in ready_user_tasks(again)] == [t.id for t in ready_user_tasks(workflow)]
    assert again.data == workflow.data
