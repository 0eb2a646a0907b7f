"""engine.spiff.serializer.CaseSerializer: case state without the spec, spec stored once."""
from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

from engine.clock import FrozenClock
from engine.definitions import parse_diagram
from engine.spiff.script import GovScriptEngine
from engine.spiff.serializer import SERIALIZER_VERSION, VERSION_KEY, CaseSerializer

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
BEIJING = timezone(timedelta(hours=8))


@pytest.fixture(scope="module")
def bundle():
    xml = (FIXTURES / "review_loop.bpmn").read_bytes()
    return parse_diagram(xml, {"is_returned", "record_approval"}).bundle


@pytest.fixture(scope="module")
def serializer():
    return CaseSerializer()


def started(bundle, **data) -> BpmnWorkflow:
    """A review_loop case waiting at "submit", with ``data`` in the workflow and the ready task."""
    workflow = BpmnWorkflow(bundle.spec, bundle.subprocess_specs)
    workflow.do_engine_steps()
    workflow.data.update(data)
    ready_user_tasks(workflow)[0].data.update(data)
    return workflow


def ready_user_tasks(workflow):
    return workflow.get_tasks(state=TaskState.READY, manual=True)


VALUES = {
    "aware_datetime": datetime(2026, 3, 2, 9, 30, 15, 123456, tzinfo=BEIJING),
    "utc_datetime": datetime(2026, 3, 2, 1, 30, tzinfo=timezone.utc),
    "nested": {"applicant": {"name": "张三", "ids": [1, 2, {"deep": [None, True, 1.5]}]}, "empty": {}},
    "unicode": "数据共享 ✓ € 𠀀 \u0000 \"quoted\" \\ back",
    "list_of_datetimes": [datetime(2026, 1, 1, tzinfo=timezone.utc), {"at": datetime(2026, 1, 2, tzinfo=BEIJING)}],
    "timedelta": timedelta(days=2, seconds=5),
    "numbers": [0, -1, 2**62, 3.25],
}
ADDED_TYPES = {  # registered by CaseSerializer on top of the library defaults
    "date": date(2026, 3, 2),
    "decimal": Decimal("12.50"),
}


@pytest.mark.parametrize("key, value", [
    *VALUES.items(),
    *ADDED_TYPES.items(),
])
def test_task_data_round_trip(bundle, serializer, key, value):
    workflow = started(bundle, **{key: value})
    text = serializer.dumps_state(workflow)
    json.loads(text)
    restored = serializer.loads_state(text, bundle)
    (task,) = ready_user_tasks(restored)
    assert task.data[key] == value and type(task.data[key]) is type(value)
    assert restored.data[key] == value


def test_aware_datetime_keeps_its_offset(bundle, serializer):
    value = VALUES["aware_datetime"]
    restored = serializer.loads_state(serializer.dumps_state(started(bundle, at=value)), bundle)
    assert restored.data["at"].utcoffset() == timedelta(hours=8)


def test_state_is_plain_json_with_version_and_without_spec(bundle, serializer):
    text = serializer.dumps_state(started(bundle, **VALUES))
    dct = json.loads(text)
    assert dct[VERSION_KEY] == SERIALIZER_VERSION
    assert "spec" not in dct and "subprocess_specs" not in dct
    for spec_only in ("is_returned(decision)", "record_approval(summary)", "provider_clerk", "candidate_groups",
                      "摘要", "测试：提交与审批"):
        assert spec_only not in text
    assert "张三" in text or "\\u5f20\\u4e09" in text


def test_round_trip_restores_data_and_ready_tasks(bundle, serializer):
    workflow = started(bundle, **VALUES)
    text = serializer.dumps_state(workflow)
    restored = serializer.loads_state(text, bundle)
    assert restored.data == workflow.data
    assert [(t.id, t.task_spec.name) for t in ready_user_tasks(restored)] == \
        [(t.id, t.task_spec.name) for t in ready_user_tasks(workflow)]
    assert {t.id: t.state for t in restored.get_tasks()} == {t.id: t.state for t in workflow.get_tasks()}
    assert serializer.dumps_state(restored) == text


def test_restored_case_runs_on(bundle, serializer):
    workflow = started(bundle)
    (submit,) = ready_user_tasks(workflow)
    submit.set_data(summary="材料")
    submit.run()
    workflow.do_engine_steps()
    restored = serializer.loads_state(serializer.dumps_state(workflow), bundle)
    (approve,) = ready_user_tasks(restored)
    assert approve.task_spec.name == "approve" and approve.data["summary"] == "材料"
    approve.set_data(decision="approve")
    approve.run()
    restored.script_engine = _script_engine()
    restored.do_engine_steps()
    assert restored.is_completed() and restored.data["outcome"] == "approved:材料"


def _script_engine():
    return GovScriptEngine(FrozenClock(datetime(2026, 3, 2, tzinfo=timezone.utc)), {
        "is_returned": lambda decision: decision == "return",
        "record_approval": lambda summary: f"approved:{summary}"})


def test_spec_is_stored_once_and_shared_by_cases(bundle, serializer):
    spec_json = serializer.dumps_spec(bundle)
    assert "is_returned(decision)" in spec_json and "provider_clerk" in spec_json
    loaded = serializer.loads_spec(spec_json)
    assert loaded.spec.name == "review_loop"
    assert sorted(loaded.spec.task_specs) == sorted(bundle.spec.task_specs)
    assert loaded.spec.task_specs["approve"].extensions == bundle.spec.task_specs["approve"].extensions

    first = serializer.loads_state(serializer.dumps_state(started(bundle, n=1)), loaded)
    second = serializer.loads_state(serializer.dumps_state(started(bundle, n=2)), loaded)
    assert first.spec is loaded.spec and second.spec is loaded.spec
    assert (first.data["n"], second.data["n"]) == (1, 2)


def test_state_is_much_smaller_than_the_spec(bundle, serializer):
    state = serializer.dumps_state(started(bundle))
    assert len(state) < len(serializer.dumps_spec(bundle))


# --------------------------------------------------------------------------- states from older versions



def unversioned_state(serializer, workflow) -> str:
    """A saved state that goes through loads_state's migration path (no current version key)."""
    dct = json.loads(serializer.dumps_state(workflow))
    del dct[VERSION_KEY]
    return json.dumps(dct)


def test_older_state_loads_on_a_freshly_parsed_bundle(bundle, serializer):
    restored = serializer.loads_state(unversioned_state(serializer, started(bundle, n=1)), bundle)
    assert [t.task_spec.name for t in ready_user_tasks(restored)] == ["submit"]
    assert restored.data["n"] == 1


def test_loads_spec_keeps_the_stored_spec_dict_intact(bundle, serializer):
    spec_json = serializer.dumps_spec(bundle)
    assert serializer.loads_spec(spec_json).spec_dict == json.loads(spec_json)


def test_older_state_loads_on_a_bundle_from_the_database(bundle, serializer):
    loaded = serializer.loads_spec(serializer.dumps_spec(bundle))  # what DefinitionCache.get returns
    restored = serializer.loads_state(unversioned_state(serializer, started(bundle, n=1)), loaded)
    assert [t.task_spec.name for t in ready_user_tasks(restored)] == ["submit"]
