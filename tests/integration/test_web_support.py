"""What the engine does for the web app: notifications written in the case's transaction, transfer,
comments, case visibility, dynamic form options, the log-in limit; their migration."""
from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from argon2 import PasswordHasher

from engine import timer_service
from engine.bootstrap import register_hooks
from engine.calendar import BEIJING
from engine.domain import comments, logins, notifications, org
from engine.errors import AlreadyDone, GovflowError, InvalidForm, PermissionDenied
from engine.models import AuditRecord, Base, Case, HumanTask
from engine.service import may_see_case
from engine.uow import Actor
from tests.conftest import FIXTURES, make_engine, review_loop_procedure

D1, D2 = "D1", "D2"
CLERK = Actor("clerk1", frozenset({"provider_clerk"}), D1)
CLERK2 = Actor("clerk2", frozenset({"provider_clerk"}), D1)
HEAD = Actor("head1", frozenset({"dept_head"}), D1)
OUTSIDER = Actor("clerk3", frozenset({"provider_clerk"}), D2)
AUTHORITY = Actor("auth1", frozenset({"authority"}), "A")


@pytest.fixture
def eng(db_url, clock, monkeypatch):
    monkeypatch.setattr(org, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    proc = review_loop_procedure()
    proc.form_options = lambda ctx, element_id, data: {"decision": [("approve", "同意"), "return"]} \
        if element_id == "approve" else {}
    engine = register_hooks(make_engine(db_url, clock, {"review_loop": proc}))
    engine.deploy((FIXTURES / "review_loop.bpmn").read_bytes())
    engine.deploy((FIXTURES / "deadline_review.bpmn").read_bytes())
    with engine.uow() as uow:
        s = uow.session
        depts = {code: org.create_department(s, code, f"部门{code}", "county_department") for code in (D1, D2)}
        depts["A"] = org.create_department(s, "A", "主管部门", "authority")
        for a in (CLERK, CLERK2, HEAD, OUTSIDER, AUTHORITY):
            org.create_person(s, a.username, a.username, depts[a.department], set(a.roles), "pass-word-1",
                              clock.now())
        uow.commit()
    yield engine
    engine.db_engine.dispose()


def start(engine) -> int:
    return engine.start_case("review_loop", CLERK, {"department": D1}, title="测试案件")


def open_task(engine, case_id: int, element_id: str | None = None) -> str:
    with engine.uow() as uow:
        query = sa.select(HumanTask.id).where(HumanTask.case_id == case_id, HumanTask.state == "ready")
        if element_id:
            query = query.where(HumanTask.element_id == element_id)
        return uow.session.scalars(query).one()


def inbox(engine, login: str) -> list[tuple[str, str, str]]:
    with engine.uow() as uow:
        return [(n.kind, n.task_id or "", n.text) for n in reversed(notifications.recent(uow.session, login))]


def test_a_new_task_notifies_whoever_may_work_it_but_not_who_caused_it(eng):
    case_id = start(eng)
    submit = open_task(eng, case_id)
    assert inbox(eng, "clerk2") == [("new_task", submit, "20260000001 测试案件 · 填写材料")]
    assert inbox(eng, "clerk1") == [] and inbox(eng, "clerk3") == [] and inbox(eng, "head1") == []
    eng.complete_task(submit, CLERK, {"summary": "材料齐全"})
    approve = open_task(eng, case_id)
    assert inbox(eng, "head1") == [("new_task", approve, "20260000001 测试案件 · 数长审批")]
    with eng.uow() as uow:
        assert notifications.unread_count(uow.session, "head1") == 1


def test_the_starter_hears_when_the_case_ends(eng):
    case_id = start(eng)
    eng.complete_task(open_task(eng, case_id), CLERK, {"summary": "材料齐全"})
    eng.complete_task(open_task(eng, case_id), HEAD, {"decision": "approve"})
    assert inbox(eng, "clerk1")[-1] == ("answer", "", "20260000001 测试案件 · approved:材料齐全")


def test_reminder_and_overdue_timers_notify_the_people_of_the_task(eng, clock):
    from datetime import datetime
    clock.set(datetime(2026, 9, 24, 10, 0, tzinfo=BEIJING))
    case_id = eng.start_case("deadline_review", CLERK)
    answer = open_task(eng, case_id, "answer")
    eng.claim(answer, CLERK2)
    clock.set(datetime(2026, 10, 14, 9, 0, tzinfo=BEIJING))
    timer_service.fire_due_timers(eng)
    clock.set(datetime(2026, 10, 16, 0, 0, tzinfo=BEIJING))
    timer_service.fire_due_timers(eng)
    kinds = [(kind, task) for kind, task, _ in inbox(eng, "clerk2")]
    assert ("reminder", answer) in kinds and ("overdue", answer) in kinds
    assert [k for k, _, _ in inbox(eng, "clerk3")].count("reminder") == 0  # the task is clerk2's now


def test_notify_refuses_unknown_kinds_and_skips_system_actors(eng):
    with eng.uow() as uow:
        with pytest.raises(ValueError):
            notifications.notify(uow, ["clerk1"], "spam", None, None, "x", eng.clock.now())
        assert notifications.notify(uow, ["clerk1", "clerk1", "system:timer", ""], "urge", None, None,
                                    "请尽快办理", eng.clock.now()) == 1
        uow.commit()
    with eng.uow() as uow:
        assert notifications.mark_read(uow.session, "clerk1", eng.clock.now()) == 1
        assert notifications.unread_count(uow.session, "clerk1") == 0
        uow.commit()


def test_transfer_by_the_assignee_to_an_eligible_colleague(eng):
    case_id = start(eng)
    task_id = open_task(eng, case_id)
    eng.claim(task_id, CLERK)
    assert eng.transfer_candidates(task_id, CLERK) == [("clerk2", "clerk2")]
    with pytest.raises(PermissionDenied):
        eng.transfer_task(task_id, CLERK2, "clerk2")  # not the assignee
    with pytest.raises(PermissionDenied):
        eng.transfer_task(task_id, CLERK, "clerk3")  # other department
    with pytest.raises(PermissionDenied):
        eng.transfer_task(task_id, CLERK, "head1")  # other role
    with pytest.raises(GovflowError):
        eng.transfer_task(task_id, CLERK, "clerk1")  # already theirs
    eng.transfer_task(task_id, CLERK, "clerk2")
    with eng.uow() as uow:
        assert uow.session.get(HumanTask, task_id).assignee == "clerk2"
        record = uow.session.scalars(sa.select(AuditRecord).where(AuditRecord.action == "task_transferred")).one()
        assert (record.actor, json.loads(record.summary)) == ("clerk1", {"from": "clerk1", "to": "clerk2"})
    assert ("new_task", task_id) in [(k, t) for k, t, _ in inbox(eng, "clerk2")]
    eng.complete_task(task_id, CLERK2, {"summary": "已接办"})
    with pytest.raises(AlreadyDone):
        eng.transfer_task(task_id, CLERK2, "clerk1")
    assert eng.verify_audit() is None


def test_an_offered_task_can_be_assigned_by_anyone_it_is_offered_to(eng):
    task_id = open_task(eng, start(eng))
    eng.transfer_task(task_id, CLERK2, "clerk1")
    with eng.uow() as uow:
        assert uow.session.get(HumanTask, task_id).assignee == "clerk1"
    with pytest.raises(PermissionDenied):
        eng.transfer_task(task_id, OUTSIDER, "clerk2")


def test_comments_need_sight_of_the_case_and_text(eng):
    case_id = start(eng)
    comment_id = eng.add_comment(case_id, CLERK2, "  请补充材料  ")
    with eng.uow() as uow:
        assert [(c.id, c.author, c.text) for c in comments.comments_for(uow.session, case_id)] == \
            [(comment_id, "clerk2", "请补充材料")]
    eng.add_comment(case_id, AUTHORITY, "主管部门已关注")
    with pytest.raises(PermissionDenied):
        eng.add_comment(case_id, OUTSIDER, "越权")
    with pytest.raises(InvalidForm):
        eng.add_comment(case_id, CLERK, "   ")
    with pytest.raises(InvalidForm):
        eng.add_comment(case_id, CLERK, "长" * (comments.MAX_LENGTH + 1))


def test_who_may_see_a_case(eng):
    case_id = start(eng)
    eng.complete_task(open_task(eng, case_id), CLERK2, {"summary": "材料齐全"})
    with eng.uow() as uow:
        case = uow.session.get(Case, case_id)
        seen = {a.username: may_see_case(uow.session, case, a) for a in (CLERK, CLERK2, HEAD, OUTSIDER, AUTHORITY)}
    assert seen == {"clerk1": True, "clerk2": True, "head1": True, "clerk3": False, "auth1": True}


def test_dynamic_form_options_as_pairs(eng):
    case_id = start(eng)
    assert eng.task_form_options(open_task(eng, case_id), CLERK) == {}
    eng.complete_task(open_task(eng, case_id), CLERK, {"summary": "材料齐全"})
    approve = open_task(eng, case_id)
    assert eng.task_form_options(approve, HEAD) == {"decision": [("approve", "同意"), ("return", "return")]}
    with pytest.raises(PermissionDenied):
        eng.task_form_options(approve, CLERK)


def test_failed_logins_are_limited_per_login_and_address(eng, clock):
    def attempt(login, password, ip="1.2.3.4"):
        with eng.uow() as uow:
            person = logins.log_in(uow, login, password, ip, clock.now())
            uow.commit()
            return person
    for _ in range(logins.FAILURE_LIMIT):
        assert attempt("clerk1", "wrong-one") is None
    with pytest.raises(logins.TooManyFailures):
        attempt("clerk1", "pass-word-1")
    assert attempt("clerk1", "pass-word-1", ip="5.6.7.8").login == "clerk1"
    clock.advance(minutes=15, seconds=1)
    assert attempt("clerk1", "pass-word-1").login == "clerk1"
    with eng.uow() as uow:
        actions = [r.action for r in uow.session.scalars(sa.select(AuditRecord).order_by(AuditRecord.id))
                   if r.action.startswith("login")]
        assert actions == ["login_failed"] * 5 + ["login", "login"]


def test_the_migration_matches_the_models(db_url):
    mine = {"notification", "case_comment", "login_attempt"}
    only_mine = {"include_object": lambda obj, name, kind, reflected, other:
                 (name if kind == "table" else getattr(getattr(obj, "table", None), "name", None)) in mine}
    db = sa.create_engine(db_url)
    with db.connect() as conn:
        assert set(sa.inspect(conn).get_table_names()) >= mine
        assert compare_metadata(MigrationContext.configure(conn, opts=only_mine), Base.metadata) == []
    db.dispose()


def test_the_inbox_page_on_every_backend(eng):
    from datetime import date, datetime, timezone
    from engine.inbox import Filters
    ids = [open_task(eng, start(eng)) for _ in range(3)]
    eng.claim(ids[0], CLERK)
    with eng.uow() as uow:
        row = uow.session.get(HumanTask, ids[1])
        row.due_date, row.due_at = date(2026, 3, 3), datetime(2026, 3, 3, 16, 0, tzinfo=timezone.utc)
        uow.commit()
    mine = eng.inbox(CLERK, "mine")
    assert mine.counts == {"mine": 1, "unclaimed": 2, "started": 3, "done": 0} and mine.total == 1
    soon = eng.inbox(CLERK, "unclaimed", Filters(status="due_soon"))
    assert [i.task.id for i in soon.items] == [ids[1]] and soon.items[0].remaining_days == 1
    assert soon.items[0].due_soon and not soon.items[0].overdue
    assert eng.inbox(CLERK, "unclaimed", Filters(search="0000003")).total == 1
    assert eng.inbox(CLERK, "unclaimed", Filters(search="%")).total == 0
    started = eng.inbox(CLERK, "started", Filters(status="running", sort="number"), per_page=2)
    assert started.total == 3 and started.pages == 2 and started.items[0].open_tasks == ["填写材料"]
    assert eng.inbox(OUTSIDER, "unclaimed").total == 0


def test_the_history_tabs_count_up_to_a_cap_and_the_done_tab_shows_the_newest_first(eng, clock, monkeypatch):
    """A clerk's 已办 grows without end; counting all of it made the tab slow with history
    (bench_inbox), so the history tabs count up to COUNT_CAP and then say "more than"."""
    from engine import inbox as inbox_module
    monkeypatch.setattr(inbox_module, "COUNT_CAP", 3)
    done = []
    for n in range(5):
        case_id = start(eng)
        task = open_task(eng, case_id)
        clock.advance(minutes=10)
        eng.complete_task(task, CLERK, {"summary": f"第 {n} 份"})
        done.append(task)
    page = eng.inbox(CLERK, "done", per_page=2)
    assert page.counts["done"] == 4 and page.count_label("done") == "3+" and page.more
    assert page.total == 4 and page.pages == 2  # pages stop at the cap; filters narrow the rest
    assert [i.task.id for i in page.items] == [done[4], done[3]]  # newest completed first by default
    assert page.counts["started"] == 4 and page.count_label("started") == "3+"
    assert page.counts["mine"] == 0 and page.count_label("mine") == "0"
    for _ in range(4):  # the open tabs count exactly, past the cap
        start(eng)
    unclaimed = eng.inbox(CLERK2, "unclaimed", per_page=1)
    assert unclaimed.total == 4 and not unclaimed.more and unclaimed.pages == 4
    assert unclaimed.count_label("unclaimed") == "4"
    narrowed = eng.inbox(CLERK, "done", inbox_module.Filters(search="0000002"))
    assert narrowed.total == 1 and not narrowed.more and narrowed.count_label("done") == "3+"
    monkeypatch.setattr(inbox_module, "COUNT_CAP", 10)
    assert eng.inbox(CLERK, "done").counts["done"] == 5 and not eng.inbox(CLERK, "done").more
