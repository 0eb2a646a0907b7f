"""Cases, tasks, projection and audit on SQLite and PostgreSQL (the same suite against both)."""
from __future__ import annotations

import sqlalchemy as sa
import pytest

from engine import inbox
from engine.errors import AlreadyDone, InvalidForm, NotFound, PermissionDenied
from engine.models import AuditChainHead, AuditRecord, Case, HumanTask
from engine.uow import Actor
from tests.conftest import FIXTURES

CLERK = Actor("zhang", frozenset({"provider_clerk"}), "D1")
CLERK2 = Actor("wang", frozenset({"provider_clerk"}), "D1")
OTHER_DEPT = Actor("zhao", frozenset({"provider_clerk"}), "D2")
HEAD = Actor("li", frozenset({"dept_head"}), "D1")


def open_tasks(engine, case_id):
    with engine.uow() as uow:
        return list(uow.session.scalars(sa.select(HumanTask).where(
            HumanTask.case_id == case_id, HumanTask.state == "ready")))


def the_task(engine, case_id):
    tasks = open_tasks(engine, case_id)
    assert len(tasks) == 1, tasks
    return tasks[0]


def load_case(engine, case_id) -> Case:
    with engine.uow() as uow:
        case = uow.session.get(Case, case_id)
        assert case.definition is not None  # loaded while the session is open
        return case


def audit_actions(engine, case_id):
    with engine.uow() as uow:
        return list(uow.session.scalars(sa.select(AuditRecord.action).where(
            AuditRecord.case_id == case_id).order_by(AuditRecord.id)))


def test_case_runs_through_a_send_back_loop_to_its_outcome(engine):
    case_id = engine.start_case("review_loop", CLERK, {"department": "D1"})
    submit = the_task(engine, case_id)
    assert (submit.element_id, submit.role, submit.department) == ("submit", "provider_clerk", "D1")
    engine.complete_task(submit.id, CLERK, {"summary": "first draft", "pages": "3"})
    approve = the_task(engine, case_id)
    assert approve.element_id == "approve" and approve.role == "dept_head"
    engine.complete_task(approve.id, HEAD, {"decision": "return", "opinion": "补充材料"})
    again = the_task(engine, case_id)
    assert again.element_id == "submit" and again.id != submit.id
    engine.complete_task(again.id, CLERK, {"summary": "second draft"})
    engine.complete_task(the_task(engine, case_id).id, HEAD, {"decision": "approve"})

    case = load_case(engine, case_id)
    assert case.status == "completed" and case.outcome == "approved:second draft"
    assert open_tasks(engine, case_id) == []
    assert engine.case_data(case_id)["opinion"] == "补充材料"
    actions = audit_actions(engine, case_id)
    assert actions[0] == "case_started" and actions[-1] == "case_ended"
    assert actions.count("task_completed") == 4 and actions.count("task_created") == 4
    assert engine.verify_audit() is None


def test_inbox_offers_tasks_by_role_and_department(engine):
    case_id = engine.start_case("review_loop", CLERK, {"department": "D1"})
    task = the_task(engine, case_id)
    with engine.uow() as uow:
        assert [t.id for t in inbox.unclaimed_tasks(uow.session, CLERK2)] == [task.id]
        assert inbox.unclaimed_tasks(uow.session, OTHER_DEPT) == []
        assert inbox.unclaimed_tasks(uow.session, HEAD) == []
        assert [c.id for c in inbox.started_cases(uow.session, CLERK)] == [case_id]

    engine.claim(task.id, CLERK)
    with engine.uow() as uow:
        assert [t.id for t in inbox.my_tasks(uow.session, CLERK)] == [task.id]
        assert inbox.unclaimed_tasks(uow.session, CLERK2) == []
    with pytest.raises(AlreadyDone, match="zhang"):
        engine.claim(task.id, CLERK2)
    with pytest.raises(PermissionDenied):
        engine.complete_task(task.id, CLERK2, {"summary": "not mine"})
    with pytest.raises(PermissionDenied):
        engine.unclaim(task.id, CLERK2)

    engine.unclaim(task.id, CLERK)
    engine.complete_task(task.id, CLERK2, {"summary": "taken over"})
    with engine.uow() as uow:
        assert [t.id for t in inbox.done_tasks(uow.session, CLERK2)] == [task.id]


def test_wrong_role_and_department_are_refused(engine):
    case_id = engine.start_case("review_loop", CLERK, {"department": "D1"})
    task = the_task(engine, case_id)
    for outsider in (OTHER_DEPT, HEAD):
        with pytest.raises(PermissionDenied):
            engine.claim(task.id, outsider)
        with pytest.raises(PermissionDenied):
            engine.complete_task(task.id, outsider, {"summary": "intruder"})
    assert the_task(engine, case_id).id == task.id


def test_invalid_form_is_refused_per_field_and_changes_nothing(engine):
    case_id = engine.start_case("review_loop", CLERK, {"department": "D1"})
    task = the_task(engine, case_id)
    before = load_case(engine, case_id)
    audit_before = audit_actions(engine, case_id)
    with pytest.raises(InvalidForm) as info:
        engine.complete_task(task.id, CLERK, {"summary": "x", "pages": "many", "received": "2026-02-30",
                                              "urgent": "maybe", "hack": "1"})
    assert set(info.value.errors) == {"summary", "pages", "received", "urgent", "hack"}
    after = load_case(engine, case_id)
    assert (after.version, after.state) == (before.version, before.state)
    assert the_task(engine, case_id).id == task.id
    assert audit_actions(engine, case_id) == audit_before


def test_completing_twice_says_already_done(engine):
    case_id = engine.start_case("review_loop", CLERK, {"department": "D1"})
    task = the_task(engine, case_id)
    engine.complete_task(task.id, CLERK, {"summary": "once"})
    with pytest.raises(AlreadyDone):
        engine.complete_task(task.id, CLERK, {"summary": "twice"})
    with pytest.raises(NotFound):
        engine.complete_task("00000000-0000-0000-0000-000000000000", CLERK, {})


def test_deploy_versions_and_running_cases_keep_theirs(engine):
    xml = (FIXTURES / "review_loop.bpmn").read_bytes()
    assert engine.deploy(xml).created is False
    old_case = engine.start_case("review_loop", CLERK, {"department": "D1"})
    changed = engine.deploy(xml.replace("数长审批".encode(), "数长审核".encode()))
    assert (changed.created, changed.version) == (True, 2)
    new_case = engine.start_case("review_loop", CLERK, {"department": "D1"})
    assert load_case(engine, old_case).definition.version == 1
    assert load_case(engine, new_case).definition.version == 2
    engine.complete_task(the_task(engine, old_case).id, CLERK, {"summary": "old one"})
    assert the_task(engine, old_case).name == "数长审批"
    engine.complete_task(the_task(engine, new_case).id, CLERK, {"summary": "new one"})
    assert the_task(engine, new_case).name == "数长审核"


def test_a_fresh_engine_process_loads_specs_from_the_database(engine, db_url, clock):
    from tests.conftest import make_engine
    case_id = engine.start_case("review_loop", CLERK, {"department": "D1"})
    other = make_engine(db_url, clock)  # empty cache, as in a second worker process
    other.complete_task(the_task(other, case_id).id, CLERK, {"summary": "from elsewhere"})
    assert the_task(engine, case_id).element_id == "approve"
    other.db_engine.dispose()


@pytest.mark.parametrize("change", ["alter", "delete", "insert"])
def test_audit_verify_finds_the_first_tampered_record(engine, change):
    case_id = engine.start_case("review_loop", CLERK, {"department": "D1"})
    engine.complete_task(the_task(engine, case_id).id, CLERK, {"summary": "evidence"})
    assert engine.verify_audit() is None
    with engine.uow() as uow:
        ids = list(uow.session.scalars(sa.select(AuditRecord.id).order_by(AuditRecord.id)))
        target = ids[len(ids) // 2]
        if change == "alter":
            uow.session.execute(sa.update(AuditRecord).where(AuditRecord.id == target)
                                .values(actor="somebody-else"))
        elif change == "delete":
            uow.session.execute(sa.delete(AuditRecord).where(AuditRecord.id == target))
        else:
            uow.session.execute(sa.update(AuditRecord).where(AuditRecord.id > target)
                                .values(id=AuditRecord.id + 1000))
            row = uow.session.get(AuditRecord, target)
            uow.session.add(AuditRecord(id=target + 1, at=row.at, actor="forger", case_id=case_id,
                                        task_id=None, action="task_completed", summary="{}",
                                        prev_hash=row.hash, hash="0" * 64))
        uow.session.commit()
    finding = engine.verify_audit()
    assert finding is not None
    expected = {"alter": target, "delete": target, "insert": target + 1}[change]
    assert finding.record_id == expected, str(finding)


def test_audit_verify_finds_records_cut_off_the_end_and_a_forged_head(engine):
    """The chain's head row (locked by every append) says where the chain ends: deleting its last
    records shows; so does a head that does not match the last record."""
    case_id = engine.start_case("review_loop", CLERK, {"department": "D1"})
    engine.complete_task(the_task(engine, case_id).id, CLERK, {"summary": "evidence"})
    with engine.uow() as uow:
        last = uow.session.scalar(sa.select(sa.func.max(AuditRecord.id)))
        uow.session.execute(sa.delete(AuditRecord).where(AuditRecord.id >= last - 1))
        uow.session.commit()
    finding = engine.verify_audit()
    assert finding is not None and finding.record_id == last - 1 and "end" in finding.problem, str(finding)
    with engine.uow() as uow:  # the forger moves the head back as well: then the next append shows it
        previous = uow.session.get(AuditRecord, last - 2)
        head = uow.session.get(AuditChainHead, 1)
        head.last_id, head.last_hash = previous.id, "f" * 64
        uow.session.commit()
    finding = engine.verify_audit()
    assert finding is not None and "head does not match" in finding.problem, str(finding)
    engine.complete_task(the_task(engine, case_id).id, HEAD, {"decision": "approve"})
    assert engine.verify_audit() is not None  # the chain cannot be made whole by appending


def test_appends_keep_the_head_at_the_last_record(engine):
    for n in range(3):
        case_id = engine.start_case("review_loop", CLERK, {"department": "D1"})
        engine.complete_task(the_task(engine, case_id).id, CLERK, {"summary": f"第 {n} 份"})
    with engine.uow() as uow:
        head = uow.session.get(AuditChainHead, 1)
        last = uow.session.scalars(sa.select(AuditRecord).order_by(AuditRecord.id.desc()).limit(1)).one()
        assert (head.last_id, head.last_hash) == (last.id, last.hash)
    assert engine.verify_audit() is None
