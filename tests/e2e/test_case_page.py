"""The case page: the diagram (container, JSON endpoint, viewer files from node_modules), every
deadline with its moves, the records the case produced, the history and the comments; refusals."""
from __future__ import annotations

from datetime import date, datetime

import pytest

from engine.calendar import BEIJING
from engine.domain import catalog, records
from engine.procedures import load_procedures
from workflows.share_application import records as share_records
from workflows.inconsistency_arbitration import records as report_records
from workflows.data_review import records as objection_records
from tests.conftest import FIXTURES
from tests.e2e.conftest import DEPT_A, DEPT_B, actor, start_case
from web import vendor

VIEWER = "bpmn-js/dist/bpmn-navigated-viewer.production.min.js"


@pytest.fixture
def vendor_dir(app, tmp_path):
    """A stand-in node_modules holding the allowed files (and one that is not allowed)."""
    root = tmp_path / "node_modules"
    for name in [*vendor.ALLOWED, "bpmn-js/package.json"]:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(f"/* {name} */")
    app.config["VENDOR_DIR"] = str(root)
    return root


def extended_case(engine, clock) -> int:
    """A deadline_review case whose answer deadline an approved extension of 3 working days moved."""
    engine.deploy((FIXTURES / "deadline_review.bpmn").read_bytes())
    clock.set(datetime(2026, 9, 24, 10, 0, tzinfo=BEIJING))  # answer due 2026-10-15 24:00
    case_id = engine.start_case("deadline_review", actor("clerk.a"))
    engine.complete_task(_task(engine, case_id, "request_extension"), actor("clerk.a"), {"days": 3})
    engine.complete_task(_task(engine, case_id, "approve_extension"), actor("head.a"), {"approved": True})
    engine.add_comment(case_id, actor("head.a"), "同意延期，请按期答复。")
    return case_id


def _task(engine, case_id: int, element_id: str) -> str:
    import sqlalchemy as sa
    from engine.models import HumanTask
    with engine.uow() as uow:
        return uow.session.scalars(sa.select(HumanTask.id).where(
            HumanTask.case_id == case_id, HumanTask.element_id == element_id, HumanTask.state == "ready")).one()


def test_the_case_page_shows_the_diagram_deadlines_history_and_comments(as_person, engine, clock, vendor_dir):
    case_id = extended_case(engine, clock)
    page = as_person("clerk.a").get(f"/cases/{case_id}").get_data(as_text=True)
    assert 'id="case-diagram"' in page and f'data-url="/cases/{case_id}/diagram"' in page
    assert f'src="/vendor/{VIEWER}"' in page and "/vendor/bpmn-js/dist/assets/diagram-js.css" in page
    assert "流程图" in page and "已办" in page and "办理中（待办任务或计时中的期限）" in page and "超期" in page
    assert "办理期限" in page and "校核并答复" in page and "到期提醒" in page and "超期督办" in page
    assert "2026-10-15 24:00 → 2026-10-20 24:00" in page  # the overdue timer, moved by 3 working days
    assert "2026-10-14 09:00 → 2026-10-19 09:00" in page  # and its reminder
    assert "张志强" in page  # who approved the move
    assert "同意延期，请按期答复。" in page and "审批意见" in page
    assert "本案件尚未产生业务记录。" in page


def test_a_provisional_deadline_is_marked(as_person, engine, clock):
    engine.deploy((FIXTURES / "deadline_review.bpmn").read_bytes())
    clock.set(datetime(2027, 12, 20, 10, 0, tzinfo=BEIJING))  # ten working days reach into 2028
    case_id = engine.start_case("deadline_review", actor("clerk.a"))
    page = as_person("clerk.a").get(f"/cases/{case_id}").get_data(as_text=True)
    assert 'class="badge provisional"' in page and "暂定" in page


def test_without_node_modules_the_page_works_and_says_the_viewer_is_missing(as_person, engine, app, tmp_path):
    app.config["VENDOR_DIR"] = str(tmp_path / "missing")
    case_id = start_case(engine)
    response = as_person("clerk.a").get(f"/cases/{case_id}")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "/vendor/" not in page and "未安装流程图查看器" in page
    assert "办理记录" in page  # the rest of the case file is there


def test_the_diagram_endpoint_gives_the_xml_and_the_element_states(as_person, engine):
    case_id = start_case(engine)
    response = as_person("clerk.a").get(f"/cases/{case_id}/diagram")
    found = response.get_json()
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert 'id="review_loop"' in found["xml"]
    assert found["active"] == ["submit"] and "start" in found["completed"] and found["overdue"] == []
    assert response.headers["Cache-Control"] == "no-store"


def test_an_overdue_task_is_overdue_on_the_diagram_and_in_the_open_tasks(as_person, engine, clock):
    engine.deploy((FIXTURES / "deadline_review.bpmn").read_bytes())
    clock.set(datetime(2026, 9, 24, 10, 0, tzinfo=BEIJING))
    case_id = engine.start_case("deadline_review", actor("clerk.a"))
    clock.set(datetime(2026, 10, 16, 10, 0, tzinfo=BEIJING))
    supervisor = as_person("supervisor")
    assert supervisor.get(f"/cases/{case_id}/diagram").get_json()["overdue"] == ["answer"]
    page = supervisor.get(f"/cases/{case_id}").get_data(as_text=True)
    assert '<tr class="overdue">' in page


def test_only_those_who_may_see_the_case_see_its_page_and_diagram(as_person, engine, client):
    case_id = start_case(engine)  # a case of department A
    outsider = as_person("clerk.b")
    assert outsider.get(f"/cases/{case_id}").status_code == 403
    assert outsider.get(f"/cases/{case_id}/diagram").status_code == 403
    assert as_person("supervisor").get(f"/cases/{case_id}/diagram").status_code == 200
    assert as_person("clerk.a").get("/cases/999/diagram").status_code == 404
    anonymous = client.get(f"/cases/{case_id}/diagram")
    assert anonymous.status_code == 302 and anonymous.headers["Location"].startswith("/login")


def test_the_records_of_the_case_are_listed_with_their_state(as_person, engine, clock):
    # each procedure package views its own records (workflows/<process_id>/views.py): install them
    engine.procedures.update({pid: proc for pid, proc in load_procedures("workflows").items()
                              if pid not in engine.procedures})
    case_id = start_case(engine)
    now = clock.now()
    authority = actor("supervisor")
    with engine.uow() as uow:
        application = share_records.create_share_application(
            uow, consumer_dept_code=DEPT_B, resource_code="HN-GA-001", provider_dept_code=DEPT_A,
            data_items=["姓名", "户籍地址"], scenario="低保资格核验", period_from=date(2026, 3, 2),
            period_until=date(2026, 6, 30), actor=actor("clerk.b"), now=now, case_id=case_id)
        share_records.decide_share_application(uow, application.id, "approve", actor("clerk.a"), now,
                                         basis="第十七条")
        objection = objection_records.create_objection(
            uow, objector_kind="natural_person", resource_code="HN-GA-001", provider_dept_code=DEPT_A,
            record_ref="户籍地址", description="门牌号有误", actor=authority, now=now, objector_name="王某",
            contact_phone="138 0000 0000", case_id=case_id)
        objection_records.answer_objection(uow, objection.id, "corrected", "已更正。", actor("clerk.a"), now,
                                 correction="门牌号由 21 号更正为 12 号")
        report_records.create_inconsistency_report(uow, description="两部门人口数不一致",
                                            involved=[(DEPT_A, "HN-GA-001"), (DEPT_B, "HN-SJ-001")],
                                            actor=authority, now=now, case_id=case_id)
        violation = records.record_violation(uow, dept_code=DEPT_A, item=3, evidence="逾期未答复",
                                             actor=authority, now=now, case_id=case_id)
        records.advance_violation(uow, violation.id, "notified", authority, now, "限期整改",
                                  deadline=date(2026, 3, 16))
        uow.commit()
    page = as_person("supervisor").get(f"/cases/{case_id}").get_data(as_text=True)
    assert "共享申请 #1 · HN-GA-001" in page and "已授权" in page and "低保资格核验" in page
    assert "授权 #1 · HN-GA-001" in page and "有效" in page and "2026-03-02 – 2026-06-30" in page
    assert "复核申请 #1" in page and "门牌号由 21 号更正为 12 号" in page and "已更正" in page
    assert "138 0000 0000" not in page  # the objector's contacts stay off the page
    assert "数据不一致报告 #1" in page and "协商中" in page
    assert "违规 #1 · 县公安局" in page and "3. 无正当理由未及时更新、校核数据或拒绝共享" in page
    assert "整改通知" in page and "钱立新" in page and "2026-03-16" in page
    assert "登记违规" in page and "下达整改通知" in page  # the history, in Chinese

    english = as_person("supervisor").get(f"/cases/{case_id}?lang=en").get_data(as_text=True)
    assert "Share application #1" in english and "granted" in english and "Violation #1" in english
    assert "not updating or verifying data" in english and "Rectification notice issued" in english


def test_a_catalog_version_published_by_the_case_is_listed(as_person, engine, clock):
    case_id = start_case(engine)
    entry = {"code": "HN-GA-009", "name": "户籍人口基本信息", "classification": "base", "category": "人口",
             "summary": "演示", "format": "database", "data_items": [{"name": "姓名", "type": "字符", "description": ""}],
             "update_frequency": "daily", "share_type": "unconditional", "share_method": "interface",
             "usage_requirements": "不得提供给第三方", "materials": ["共享申请表"], "status": "active",
             "open_type": "open"}
    with engine.uow() as uow:
        draft = catalog.open_draft(uow, DEPT_A, "clerk.a", clock.now())
        catalog.upsert_entry(uow, draft.id, entry, "clerk.a", clock.now())
        catalog.publish_draft(uow, draft.id, "supervisor", clock.now(), basis="机构职能调整", case_id=case_id)
        uow.commit()
    page = as_person("clerk.a").get(f"/cases/{case_id}").get_data(as_text=True)
    assert "目录 县公安局 · 第 1 版" in page and "现行版本" in page and "机构职能调整" in page
    assert "目录版本发布" in page


def test_vendor_serves_only_allowed_installed_files_to_people_logged_in(as_person, client, vendor_dir, app):
    clerk = as_person("clerk.a")
    response = clerk.get(f"/vendor/{VIEWER}")
    assert response.status_code == 200 and VIEWER in response.get_data(as_text=True)
    assert "max-age=86400" in response.headers["Cache-Control"]
    response.close()
    assert status(clerk, "/vendor/chart.js/dist/chart.umd.js") == 200
    assert status(clerk, "/vendor/bpmn-js/package.json") == 404  # installed, not allowed
    assert status(clerk, "/vendor/../pyproject.toml") == 404
    assert status(clerk, "/vendor/bpmn-js/dist/../../../pyproject.toml") == 404
    assert status(client, f"/vendor/{VIEWER}") == 302  # log in first
    app.config["VENDOR_DIR"] = str(vendor_dir / "gone")
    assert status(clerk, f"/vendor/{VIEWER}") == 404


def status(browser, url: str) -> int:
    """The status of a GET, closing the response (a served file stays open until then)."""
    response = browser.get(url)
    response.close()
    return response.status_code


def test_the_comment_form_on_the_case_page_needs_csrf(as_person, engine):
    case_id = start_case(engine)
    clerk = as_person("clerk.a")
    response = clerk.client.post(f"/cases/{case_id}/comment", data={"text": "无令牌"})
    assert response.status_code == 400
    response = clerk.post(f"/cases/{case_id}/comment", {"text": "有令牌", "next": f"/cases/{case_id}"})
    assert response.status_code == 302 and response.headers["Location"] == f"/cases/{case_id}"
    assert "有令牌" in clerk.get(f"/cases/{case_id}").get_data(as_text=True)


def test_completed_form_data_reads_with_the_forms_labels_and_option_names(app):
    from engine.forms import FormField, Option
    from web.casefile import _field_text
    decision = FormField("decision", "审批结果", "enum", options=(Option("approve", "同意"), Option("return", "退回")))
    urgent = FormField("urgent", "加急", "boolean")
    with app.test_request_context("/"):
        assert _field_text(decision, "decision", "approve") == "审批结果: 同意"
        assert _field_text(decision, "decision", "other") == "审批结果: other"
        assert _field_text(urgent, "urgent", True) == "加急: 是"
        assert _field_text(None, "pages", 3) == "pages: 3"
    with app.test_request_context("/?lang=en"):
        assert _field_text(urgent, "urgent", False) == "加急: No"
