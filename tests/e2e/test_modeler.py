"""流程设计器 (the modeler), for the ``analyst`` role only: drafts, upload with its refusals, validation
pointing at elements, deployment as a new version, the versions page with running cases, diffs and
the explicit migration of running cases, and a diagram from the desktop Camunda Modeler end to end."""
from __future__ import annotations

import io
import json
import re

import pytest
import sqlalchemy as sa
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from engine.domain import org
from engine.domain.drafts import DefinitionDraft
from engine.models import AuditRecord, Case, DefinitionVersion
from engine.spiff.parser import MAX_XML_BYTES
from tests.conftest import FIXTURES
from tests.e2e.conftest import AUTHORITY, PASSWORD, open_task, start_case
from web.modeler import lint

XML = (FIXTURES / "review_loop.bpmn").read_text(encoding="utf-8")
SAMPLE = (FIXTURES / "camunda_modeler_sample.bpmn").read_bytes()
RENAMED = XML.replace("数长审批", "数长审核")


@pytest.fixture
def analyst(engine, clock):
    """A process analyst of the data authority's office, with no other role."""
    with engine.uow() as uow:
        dept = org.department_by_code(uow.session, AUTHORITY)
        org.create_person(uow.session, "analyst", "赵分析", dept, {"analyst"}, PASSWORD, clock.now())
        uow.commit()
    return "analyst"


@pytest.fixture
def me(as_person, analyst):
    return as_person(analyst)


def text(response) -> str:
    return response.get_data(as_text=True)


def revision(page: str) -> str:
    """The draft's revision the editor page carries (sent back with a save)."""
    return re.search(r'name="revision" value="([^"]*)"', page).group(1)


def audit(engine, action: str) -> list[tuple[str, dict]]:
    with engine.uow() as uow:
        return [(r.actor, json.loads(r.summary or "null")) for r in uow.session.scalars(
            sa.select(AuditRecord).where(AuditRecord.action == action).order_by(AuditRecord.id))]


def versions_of(engine, process_id: str = "review_loop") -> list[tuple[int, str]]:
    with engine.uow() as uow:
        return uow.session.execute(sa.select(DefinitionVersion.version, DefinitionVersion.deployed_by).where(
            DefinitionVersion.process_id == process_id).order_by(DefinitionVersion.version)).all()


def multipart(browser, url: str, fields: dict):
    """Post a multipart form like the browser (the body built in memory: the test client would spool
    a large one to a temporary file it never closes)."""
    if browser.token is None:
        browser.get("/login")
    boundary, body = encode_multipart({"csrf_token": browser.token, **fields})
    response = browser.client.post(url, data=body, content_type=f"multipart/form-data; boundary={boundary}")
    browser._remember(response)
    return response


def upload(browser, content: bytes, filename: str = "diagram.bpmn"):
    return multipart(browser, "/modeler/upload", {"file": FileStorage(io.BytesIO(content), filename)})


# -- who may enter ----------------------------------------------------------------------------

PAGES = ["/modeler/", "/modeler/edit", "/modeler/edit?process=review_loop", "/modeler/review_loop/versions",
         "/modeler/download?process=review_loop&version=1"]
POSTS = ["/modeler/validate", "/modeler/drafts", "/modeler/drafts/1/delete", "/modeler/upload", "/modeler/deploy",
         "/modeler/review_loop/cases/1/migrate"]


def test_only_analysts_use_the_modeler(as_person, me, client):
    clerk = as_person("clerk.a")
    supervisor = as_person("supervisor")
    for url in PAGES:
        assert clerk.get(url).status_code == 403, url
        assert supervisor.get(url).status_code == 403, url
        assert me.get(url).status_code == 200, url
    for url in POSTS:
        assert clerk.post(url, {"xml": XML}).status_code == 403, url
    assert "仅流程分析员可使用流程设计器" in text(clerk.get("/modeler/"))
    assert client.get("/modeler/").status_code == 302  # to the log-in page
    assert 'href="/modeler/"' in text(me.get("/tasks")) and 'href="/modeler/"' not in text(clerk.get("/tasks"))


def test_every_post_needs_the_csrf_token(me, engine):
    for url in POSTS:
        response = me.client.post(url, data={"xml": XML})
        assert response.status_code == 400, url
        assert "表单已过期" in text(response), url
    boundary, body = encode_multipart({"file": FileStorage(io.BytesIO(SAMPLE), "x.bpmn")})
    response = me.client.post("/modeler/upload", data=body, content_type=f"multipart/form-data; boundary={boundary}")
    assert response.status_code == 400
    assert versions_of(engine) == [(1, "system:deploy")]


# -- the list, the editor, drafts ---------------------------------------------------------------

def test_the_index_lists_processes_with_running_cases_per_version_and_drafts(me, engine):
    start_case(engine)
    start_case(engine, topic="第二件")
    me.post("/modeler/deploy", {"xml": RENAMED})
    start_case(engine, topic="新版本上的案件")
    me.post("/modeler/drafts", {"xml": XML, "name": "审批流程草稿"})
    page = text(me.get("/modeler/"))
    row = re.search(r'<tr data-process="review_loop">.*?</tr>', page, re.S).group(0)
    assert "v2" in row and '<span class="badge">v2: 1</span>' in row and '<span class="badge">v1: 2</span>' in row
    assert "赵分析" in row
    assert '<tr data-process="inspection">' in page
    assert "审批流程草稿" in page


def test_the_editor_opens_a_version_a_draft_or_a_new_diagram(me):
    page = text(me.get("/modeler/edit?process=review_loop&version=1"))
    assert '<textarea name="xml" id="diagram-xml" hidden>' in page
    assert "&lt;bpmn:process id=&#34;review_loop&#34;" in page or '&lt;bpmn:process id="review_loop"' in page
    assert 'data-validate-url="/modeler/validate"' in page and 'name="csrf_token"' in page
    blank = text(me.get("/modeler/edit"))
    assert "isExecutable=&#34;true&#34;" in blank or 'isExecutable="true"' in blank
    assert "modeler:executionPlatform" in blank
    assert me.get("/modeler/edit?process=review_loop&version=9").status_code == 404
    assert me.get("/modeler/edit?draft=77").status_code == 404
    assert me.get("/modeler/edit?draft=abc").status_code == 404


def test_drafts_are_saved_loaded_overwritten_downloaded_and_deleted(me, engine):
    response = me.post("/modeler/drafts", {"xml": XML, "name": "  我的 草稿 "})
    assert response.status_code == 302 and response.headers["Location"] == "/modeler/edit?draft=1"
    page = text(me.get("/modeler/edit?draft=1"))
    assert "草稿已保存" in page and 'value="我的 草稿"' in page and 'name="draft_id" value="1"' in page
    assert "数长审批" in page
    saved = me.post("/modeler/drafts", {"xml": RENAMED, "name": "我的 草稿", "draft_id": "1",
                                        "revision": revision(page)})
    assert saved.status_code == 302
    with engine.uow() as uow:
        [draft] = uow.session.scalars(sa.select(DefinitionDraft)).all()
        assert (draft.process_id, draft.saved_by, "数长审核" in draft.xml) == ("review_loop", "analyst", True)
    download = me.get("/modeler/download?draft=1")
    assert download.headers["Content-Disposition"].startswith("attachment") and "数长审核" in text(download)
    version = me.get("/modeler/download?process=review_loop&version=1")
    assert "review_loop-v1.bpmn" in version.headers["Content-Disposition"] and text(version) == XML
    assert me.post("/modeler/drafts/1/delete").status_code == 302
    assert "草稿已删除：我的 草稿" in text(me.get("/modeler/"))
    assert [a for a, _ in audit(engine, "definition_draft_saved")] == ["analyst", "analyst"]
    assert audit(engine, "definition_draft_deleted")[0][1]["draft_id"] == 1


def test_the_second_of_two_analysts_saving_one_draft_is_shown_the_conflict(me, engine, clock, as_person):
    with engine.uow() as uow:
        dept = org.department_by_code(uow.session, AUTHORITY)
        org.create_person(uow.session, "analyst2", "孙建模", dept, {"analyst"}, PASSWORD, clock.now())
        uow.commit()
    other = as_person("analyst2")
    me.post("/modeler/drafts", {"xml": XML, "name": "审批流程"})
    mine, theirs = text(me.get("/modeler/edit?draft=1")), text(other.get("/modeler/edit?draft=1"))
    assert revision(mine) == revision(theirs) != ""
    first = me.post("/modeler/drafts", {"xml": RENAMED, "name": "审批流程", "draft_id": "1",
                                        "revision": revision(mine)})
    assert first.status_code == 302
    late = XML.replace("结束", "办结")
    second = other.post("/modeler/drafts", {"xml": late, "name": "审批流程", "draft_id": "1",
                                            "revision": revision(theirs)})
    assert second.status_code == 409
    page = text(second)
    assert "未保存：草稿已被他人改动" in page and 'id="draft-conflict"' in page
    assert "analyst 于 2026-03-02 09:00:00 保存了此草稿" in page  # who and when
    assert "办结" in page and 'data-unsaved="yes"' in page  # their own diagram, kept on the page
    assert 'href="/modeler/edit?draft=1" id="conflict-reload"' in page  # reload the other's version
    assert 'formaction="/modeler/drafts?copy=1"' in page  # or save theirs as a new draft
    assert revision(page) == revision(theirs)  # saving over it again is refused again: never last-save-wins
    assert other.post("/modeler/drafts", {"xml": late, "draft_id": "1", "revision": revision(page)}).status_code == 409
    assert other.post("/modeler/drafts", {"xml": late, "draft_id": "1"}).status_code == 409  # no revision: none
    with engine.uow() as uow:
        [draft] = uow.session.scalars(sa.select(DefinitionDraft)).all()
        assert (draft.saved_by, "数长审核" in draft.xml) == ("analyst", True)
    assert other.post("/modeler/deploy", {"xml": late, "draft_id": "1", "revision": revision(theirs)}).status_code == 409
    assert versions_of(engine) == [(1, "system:deploy")]
    copy = other.post("/modeler/drafts?copy=1", {"xml": late, "name": "审批流程（孙）", "draft_id": "1",
                                                 "revision": revision(page)})
    assert copy.status_code == 302 and copy.headers["Location"] == "/modeler/edit?draft=2"
    with engine.uow() as uow:
        saved = {d.id: (d.saved_by, d.name) for d in uow.session.scalars(sa.select(DefinitionDraft))}
    assert saved == {1: ("analyst", "审批流程"), 2: ("analyst2", "审批流程（孙）")}
    reloaded = text(other.get("/modeler/edit?draft=1"))  # or reload theirs and save over it
    assert other.post("/modeler/drafts", {"xml": late, "draft_id": "1",
                                          "revision": revision(reloaded)}).status_code == 302


def test_a_draft_that_is_not_a_diagram_is_refused_and_the_text_kept(me, engine):
    response = me.post("/modeler/drafts", {"xml": "<html><body>not a diagram</body></html>", "name": "x"})
    assert response.status_code == 422
    page = text(response)
    assert "不是 BPMN 2.0 流程图" in page and "&lt;html&gt;&lt;body&gt;not a diagram" in page
    with engine.uow() as uow:
        assert uow.session.scalar(sa.select(sa.func.count()).select_from(DefinitionDraft)) == 0


# -- upload -----------------------------------------------------------------------------------

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE bpmn:definitions [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL">
<bpmn:process id="p" name="&xxe;" isExecutable="true"/></bpmn:definitions>"""
BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL">&lol3;</bpmn:definitions>"""
OVERSIZE = XML.replace("</bpmn:definitions>", "<!--" + "x" * MAX_XML_BYTES + "--></bpmn:definitions>").encode()


@pytest.mark.parametrize("content, message", [
    (XXE, "不接受含 DOCTYPE 或实体声明的文件"),
    (BOMB, "不接受含 DOCTYPE 或实体声明的文件"),
    (OVERSIZE, "文件超过 2 MiB 的上限"),
    (b"<html><body>hello</body></html>", "不是 BPMN 2.0 流程图"),
    (b"%PDF-1.7 binary", "不是格式正确的 XML 文件"),
    (b"<bpmn:definitions", "不是格式正确的 XML 文件"),
    (b"", "文件是空的"),
])
def test_uploads_that_are_not_safe_bpmn_are_refused_with_a_clear_message(me, engine, content, message):
    response = upload(me, content, "bad.bpmn")
    assert response.status_code == 422
    page = text(response)
    assert "bad.bpmn 未被接受" in page and message in page, page[page.find("upload-error") - 200:][:800]
    assert "root:" not in page and "lollol" not in page
    with engine.uow() as uow:
        assert uow.session.scalar(sa.select(sa.func.count()).select_from(DefinitionDraft)) == 0


def test_an_upload_without_a_file_and_a_body_beyond_the_limit_are_refused(me):
    assert "请选择要上传的 .bpmn 文件" in text(multipart(me, "/modeler/upload", {}))
    huge = upload(me, b"x" * (4 * 1024 * 1024), "huge.bpmn")
    assert huge.status_code == 413 and "超过 2 MiB 的上限" in text(huge)


def test_an_english_page_gets_english_refusals(me):
    me.get("/modeler/?lang=en")
    page = text(upload(me, b"<html/>", "page.html"))
    assert "page.html was not accepted: Not a BPMN 2.0 diagram" in page


# -- validation -------------------------------------------------------------------------------

BAD = (XML.replace('camunda:candidateGroups="dept_head"', 'camunda:candidateGroups="wizard"')
          .replace('<bpmn:exclusiveGateway id="gw" name="是否同意" default="f_ok">',
                   '<bpmn:exclusiveGateway id="gw" name="是否同意">'))


def test_validation_returns_every_problem_with_its_element(me):
    response = me.post("/modeler/validate", {"xml": BAD})
    assert response.status_code == 200 and response.mimetype == "application/json"
    report = response.get_json()
    assert report["ok"] is False and report["errors"] >= 2
    errors = {p["element_id"]: p for p in report["problems"] if p["severity"] == "error"}
    assert {"approve", "gw"} <= errors.keys()
    assert "未知角色 'wizard'" in errors["approve"]["message"] and errors["approve"]["element_name"] == "数长审批"
    assert "(" not in errors["gw"]["message"]  # the Chinese half only


@pytest.mark.skipif(not lint.available(), reason="node or node_modules/bpmnlint missing (make install)")
def test_modelling_style_findings_are_warnings_with_element_ids(me):
    report = me.post("/modeler/validate", {"xml": XML}).get_json()
    assert report["ok"] is True and report["errors"] == 0 and report["lint"] is True
    warnings = [p for p in report["problems"] if p["severity"] == "warning"]
    assert {"rule": "fake-join", "element_id": "submit"}.items() <= \
        next(p for p in warnings if p["rule"] == "fake-join").items()
    assert any(p["rule"] == "no-bpmndi" and p["element_id"] == "approve" and p["message"] == "该元素在图中没有图形"
               for p in warnings)
    sample = me.post("/modeler/validate", {"xml": SAMPLE.decode()}).get_json()
    # the desktop Camunda Modeler writes camunda:historyTimeToLive on every process; it has no effect
    # here (the audit trail keeps every case; contact data follow the retention setting), and says so
    assert (sample["ok"], sample["errors"], sample["warnings"], sample["lint"]) == (True, 0, 1, True)
    [ignored] = sample["problems"]
    assert ignored["severity"] == "warning" and ignored["element_id"] == "Process_data_correction"
    assert "historyTimeToLive" in ignored["message"]


def test_validation_of_a_refused_file_is_one_problem_without_element(me):
    report = me.post("/modeler/validate", {"xml": XXE.decode()}).get_json()
    assert report["ok"] is False and len(report["problems"]) == 1
    assert report["problems"][0]["element_id"] is None and "DOCTYPE" in report["problems"][0]["message"]


def test_a_diagram_larger_than_the_default_form_limit_still_validates(me):
    padded = XML.replace("</bpmn:definitions>", "<!--" + "填" * 400_000 + "--></bpmn:definitions>")
    assert 1_000_000 < len(padded.encode()) < MAX_XML_BYTES
    response = multipart(me, "/modeler/validate", {"xml": padded})
    assert response.status_code == 200 and response.get_json()["errors"] == 0


# -- deployment -------------------------------------------------------------------------------

def test_deploying_creates_a_version_recorded_with_who_and_identical_content_is_a_no_op(me, engine):
    response = me.post("/modeler/deploy", {"xml": RENAMED})
    assert response.status_code == 302 and response.headers["Location"] == "/modeler/review_loop/versions"
    page = text(me.get(response.headers["Location"]))
    assert "已部署 review_loop 版本 2" in page
    assert versions_of(engine) == [(1, "system:deploy"), (2, "analyst")]
    assert audit(engine, "definition_deployed")[-1] == ("analyst", {
        "process_id": "review_loop", "version": 2, "hash": audit(engine, "definition_deployed")[-1][1]["hash"]})
    again = me.post("/modeler/deploy", {"xml": RENAMED})
    assert "未部署：与版本 2 完全相同" in text(me.get(again.headers["Location"]))
    assert versions_of(engine) == [(1, "system:deploy"), (2, "analyst")]
    case_id = start_case(engine)
    with engine.uow() as uow:
        assert uow.session.get(Case, case_id).definition.version == 2


def test_a_diagram_with_errors_is_not_deployed_and_nothing_is_lost(me, engine):
    response = me.post("/modeler/deploy", {"xml": BAD, "name": "坏草稿"})
    assert response.status_code == 422
    page = text(response)
    assert "未部署" in page and 'data-element="approve"' in page and 'data-element="gw"' in page
    assert "wizard" in page and 'value="坏草稿"' in page
    assert versions_of(engine) == [(1, "system:deploy")]


def test_a_stored_draft_deploys_as_it_is_and_is_then_discarded(me, engine):
    me.post("/modeler/drafts", {"xml": RENAMED, "name": "改名"})
    response = me.post("/modeler/deploy", {"draft_id": "1"})
    assert response.status_code == 302
    with engine.uow() as uow:
        row = uow.session.scalars(sa.select(DefinitionVersion).where(DefinitionVersion.version == 2)).one()
        assert row.xml == RENAMED
        assert uow.session.scalar(sa.select(sa.func.count()).select_from(DefinitionDraft)) == 0


# -- versions, diff, migration -----------------------------------------------------------------

def _case_at_approval(engine, as_person) -> int:
    case_id = start_case(engine)
    clerk = as_person("clerk.a")
    task = open_task(engine, case_id)
    clerk.post(f"/tasks/{task}/claim")
    response = clerk.post(f"/tasks/{task}/complete", {"summary": "材料齐全", "pages": "3"})
    assert response.status_code == 302, text(response)
    return case_id


def test_the_versions_page_counts_running_cases_and_compares_versions(me, engine):
    start_case(engine)
    start_case(engine, topic="第二件")
    me.post("/modeler/deploy", {"xml": RENAMED.replace('<bpmn:endEvent id="end" name="结束">',
                                                       '<bpmn:endEvent id="end" name="办结">')})
    start_case(engine, topic="第三件")
    page = text(me.get("/modeler/review_loop/versions"))
    counts = dict(re.findall(r'<tr data-version="(\d)">.*?<td class="running">(\d+)</td>', page, re.S))
    assert counts == {"2": "1", "1": "2"}
    assert "赵分析" in page and "system:deploy" in page
    diff = re.search(r'<table class="diff">.*?</table>', page, re.S).group(0)
    assert re.search(r"changed.*?数长审核 <code>approve</code></td>\s*<td>名称</td>", diff, re.S)
    assert "<code>end</code>" in diff and "added" not in diff.replace('class="badge changed"', "")
    same = text(me.get("/modeler/review_loop/versions?old=1&new=1"))
    assert "请选择两个不同的版本" in same
    assert me.get("/modeler/nothing_here/versions").status_code == 404


def test_migration_report_and_an_explicit_migration(me, engine, as_person):
    movable = _case_at_approval(engine, as_person)
    fresh = start_case(engine, topic="还在填写")
    me.post("/modeler/deploy", {"xml": XML.replace('label="摘要"', 'label="内容摘要"')})  # v2 changes the first task
    me.post("/modeler/deploy", {"xml": XML.replace('label="摘要"', 'label="内容摘要"').replace("数长审批", "数长审核")})
    page = text(me.get("/modeler/review_loop/versions"))
    rows = dict(re.findall(r'<tr data-case="(\d+)">(.*?)</tr>', page, re.S))
    assert set(rows) == {str(movable), str(fresh)}
    assert "否" in rows[str(movable)] and "已完成的步骤「填写材料」在新版本中有改动" in rows[str(movable)]
    assert "迁移" not in rows[str(movable)]
    assert "是" in rows[str(fresh)] and 'name="target" value="4"' in rows[str(fresh)]

    refused = me.post(f"/modeler/review_loop/cases/{movable}/migrate", {"target": "4"})
    assert "无法迁移" in text(me.get(refused.headers["Location"]))
    stale = me.post(f"/modeler/review_loop/cases/{fresh}/migrate", {"target": "3"})
    assert "已部署了更新的版本" in text(me.get(stale.headers["Location"]))

    response = me.post(f"/modeler/review_loop/cases/{fresh}/migrate", {"target": "4"})
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/modeler/review_loop/versions#migration")
    page = text(me.get(response.headers["Location"]))
    number = f"2026{fresh:07d}"
    assert f"案件 {number} 已迁移到版本 3" in page
    with engine.uow() as uow:
        assert uow.session.get(Case, fresh).definition.version == 3
        assert uow.session.get(Case, movable).definition.version == 1
    assert audit(engine, "case_migrated") == [("analyst", {"from_version": 1, "to_version": 3})]
    assert me.post("/modeler/review_loop/cases/999/migrate", {"target": "4"}).status_code == 404
    assert me.post(f"/modeler/inspection/cases/{fresh}/migrate", {"target": "2"}).status_code == 404


# -- a diagram from the desktop Camunda Modeler, end to end -------------------------------------

def test_a_desktop_camunda_modeler_diagram_uploads_deploys_and_its_form_renders(me, engine, as_person):
    response = upload(me, SAMPLE, "数据更正.bpmn")
    assert response.status_code == 302 and response.headers["Location"] == "/modeler/edit?draft=1&check=1"
    page = text(me.get(response.headers["Location"]))
    assert "数据更正.bpmn 已上传为草稿" in page and 'data-check-on-load="yes"' in page
    report = me.post("/modeler/validate", {"xml": SAMPLE.decode()}).get_json()
    assert report["errors"] == 0, report
    deployed = me.post("/modeler/deploy", {"draft_id": "1"})
    assert deployed.headers["Location"] == "/modeler/Process_data_correction/versions"
    with engine.uow() as uow:
        row = uow.session.scalars(sa.select(DefinitionVersion).where(
            DefinitionVersion.process_id == "Process_data_correction")).one()
        assert (row.version, row.deployed_by, row.xml.encode()) == (1, "analyst", SAMPLE)

    clerk = as_person("clerk.a")
    started = clerk.post("/start/Process_data_correction", {})
    assert started.status_code == 302, text(started)
    task_page = text(clerk.get(started.headers["Location"]))
    assert "核实更正内容" in task_page
    assert re.search(r'<select id="f-decision" name="decision"[^>]*required', task_page)
    assert '<option value="accept">予以更正</option>' in task_page
    assert re.search(r'<input type="text" id="f-reason" name="reason"[^>]*maxlength="500"', task_page)
    assert re.search(r'<input type="number" id="f-record_count" name="record_count"[^>]*min="1"', task_page)
    assert '<input type="date" id="f-checked_on"' in task_page
    assert '<input type="checkbox" id="f-urgent" name="urgent"' in task_page
