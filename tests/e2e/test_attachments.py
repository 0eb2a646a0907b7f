"""Evidence files (证明材料) on a case: upload from an open task, download by whoever may see the case."""
from __future__ import annotations

import hashlib
import io
import json
import stat
import zipfile

import pytest
import sqlalchemy as sa
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from engine.domain.attachments import MAX_PER_CASE, MAX_SIZE, Attachment
from engine.models import AuditRecord
from tests.e2e.conftest import actor, open_task, start_case

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def office(*parts: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        for part in parts:
            archive.writestr(part, "<x/>")
    return buffer.getvalue()


@pytest.fixture(autouse=True)
def folder(app, tmp_path):
    path = tmp_path / "attachments"
    app.config["ATTACHMENT_DIR"] = str(path)
    return path


@pytest.fixture
def case_task(engine):
    case_id = start_case(engine)
    return case_id, open_task(engine, case_id)


def upload(browser, task_id, name, content):
    """Post the file like the browser's form does (the body built in memory: the test client would
    spool a large one to a temporary file it never closes)."""
    if browser.token is None:
        browser.get("/login")
    boundary, body = encode_multipart({"csrf_token": browser.token, "file": FileStorage(io.BytesIO(content), name)})
    return browser.client.post(f"/tasks/{task_id}/attachments", data=body,
                               content_type=f"multipart/form-data; boundary={boundary}")


def flashes(browser, response) -> str:
    return browser.get(response.headers["Location"]).get_data(as_text=True)


def rows(engine) -> list[Attachment]:
    with engine.uow() as uow:
        found = list(uow.session.scalars(sa.select(Attachment).order_by(Attachment.id)))
        uow.session.expunge_all()
        return found


def test_a_clerk_adds_a_pdf_and_whoever_may_see_the_case_downloads_it(as_person, engine, case_task, folder):
    case_id, task_id = case_task
    clerk = as_person("clerk.a")
    page = clerk.get(f"/tasks/{task_id}").get_data(as_text=True)
    assert 'enctype="multipart/form-data"' in page and 'accept=".pdf,.png,.jpg,.jpeg,.docx,.xlsx,.txt"' in page
    response = upload(clerk, task_id, "户籍证明.pdf", PDF)
    assert response.status_code == 302 and response.headers["Location"] == f"/tasks/{task_id}"
    assert "文件“户籍证明.pdf”已加入案件" in flashes(clerk, response)

    [row] = rows(engine)
    assert (row.case_id, row.task_id, row.original_name, row.size, row.content_type, row.uploaded_by) == (
        case_id, task_id, "户籍证明.pdf", len(PDF), "application/pdf", "clerk.a")
    assert row.sha256 == hashlib.sha256(PDF).hexdigest()
    stored = folder / row.stored_name
    assert stored.read_bytes() == PDF and len(row.stored_name) == 32 and "." not in row.stored_name
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    with engine.uow() as uow:
        record = uow.session.scalars(sa.select(AuditRecord).where(AuditRecord.action == "attachment_added")).one()
    assert (record.case_id, record.task_id, record.actor) == (case_id, task_id, "clerk.a")
    assert json.loads(record.summary)["sha256"] == row.sha256

    for login in ("clerk.a", "supervisor"):  # the starter, the authority
        viewer = as_person(login)
        assert "户籍证明.pdf" in viewer.get(f"/cases/{case_id}").get_data(as_text=True)
        download = viewer.get(f"/attachments/{row.id}")
        assert download.status_code == 200 and download.data == PDF
        assert download.headers["Content-Type"] == "application/pdf"
        assert download.headers["Content-Disposition"].startswith("attachment;")
        assert "filename*=UTF-8''%E6%88%B7%E7%B1%8D%E8%AF%81%E6%98%8E.pdf" in download.headers["Content-Disposition"]
        assert download.headers["X-Content-Type-Options"] == "nosniff"
        assert download.headers["Cache-Control"] == "no-store"
        assert "sandbox" in download.headers["Content-Security-Policy"]
        download.close()
    assert "上传证明材料" in as_person("clerk.a").get(f"/cases/{case_id}").get_data(as_text=True)


def test_who_may_not_see_the_case_may_not_download(as_person, app, engine, case_task):
    _, task_id = case_task
    upload(as_person("clerk.a"), task_id, "a.pdf", PDF)
    [row] = rows(engine)
    assert as_person("clerk.b").get(f"/attachments/{row.id}").status_code == 403  # another department
    assert app.test_client().get(f"/attachments/{row.id}").status_code == 302  # not logged in
    assert as_person("clerk.a").get("/attachments/999").status_code == 404


def test_only_someone_who_may_work_the_open_task_uploads(as_person, engine, case_task):
    _, task_id = case_task
    assert upload(as_person("clerk.b"), task_id, "a.pdf", PDF).status_code == 403
    assert upload(as_person("head.a"), task_id, "a.pdf", PDF).status_code == 403
    clerk = as_person("clerk.a")
    assert clerk.client.post(f"/tasks/{task_id}/attachments", data={"file": (io.BytesIO(PDF), "a.pdf")},
                             content_type="multipart/form-data").status_code == 400  # no CSRF token
    engine.complete_task(task_id, actor("clerk.a"), {"summary": "材料齐全"})
    assert upload(clerk, task_id, "late.pdf", PDF).status_code == 403  # the task is done
    assert rows(engine) == []


@pytest.mark.parametrize("name, content, message", [
    ("program.pdf", b"MZ\x90\x00\x03\x00\x00\x00", "只接受 PDF、PNG、JPEG、Word docx、Excel xlsx、TXT 文件"),
    ("picture.pdf", PNG, "文件内容是 PNG，与文件名后缀 .pdf 不符"),
    ("page.html", b"<script>alert(1)</script>", "文件内容是 TXT，与文件名后缀 .html 不符"),
    ("macro.docx", office("word/document.xml", "word/vbaProject.bin"), "只接受"),
    ("empty.txt", b"", "文件是空的"),
])
def test_files_are_judged_by_their_content(as_person, engine, case_task, name, content, message):
    _, task_id = case_task
    clerk = as_person("clerk.a")
    response = upload(clerk, task_id, name, content)
    assert response.status_code == 302 and message in flashes(clerk, response)
    assert rows(engine) == []


def test_word_excel_images_and_chinese_text_are_accepted(as_person, engine, case_task, folder):
    _, task_id = case_task
    clerk = as_person("clerk.a")
    for name, content in (("说明.docx", office("word/document.xml")), ("清单.xlsx", office("xl/workbook.xml")),
                          ("照片.JPG", b"\xff\xd8\xff\xe0" + b"\x00" * 16), ("截图.png", PNG),
                          ("说明.txt", "户籍地址门牌号\r\n".encode("gb18030"))):
        assert upload(clerk, task_id, name, content).status_code == 302
    assert [r.content_type for r in rows(engine)] == [
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "image/jpeg", "image/png", "text/plain"]
    assert len(list(folder.iterdir())) == 5


def test_too_large_a_file_is_refused_with_a_message(as_person, engine, case_task, folder):
    _, task_id = case_task
    clerk = as_person("clerk.a")
    response = upload(clerk, task_id, "big.pdf", b"%PDF-" + b"0" * MAX_SIZE)
    assert response.status_code == 302 and "文件超过 10 MB" in flashes(clerk, response)
    response = upload(clerk, task_id, "huge.pdf", b"%PDF-" + b"0" * (MAX_SIZE + 100_000))
    assert response.status_code == 302 and "文件超过 10 MB" in flashes(clerk, response)
    assert rows(engine) == [] and not folder.exists() or list(folder.iterdir()) == []


def test_a_missing_file_field_and_the_per_case_cap(as_person, engine, case_task, monkeypatch):
    _, task_id = case_task
    clerk = as_person("clerk.a")
    response = clerk.post(f"/tasks/{task_id}/attachments", {}, content_type="multipart/form-data")
    assert "请选择要上传的文件" in flashes(clerk, response)
    monkeypatch.setattr("engine.domain.attachments.MAX_PER_CASE", 1)
    assert upload(clerk, task_id, "a.pdf", PDF).status_code == 302
    response = upload(clerk, task_id, "b.pdf", PDF)
    assert "每个案件最多 1 个附件" in flashes(clerk, response) and MAX_PER_CASE == 100
    assert len(rows(engine)) == 1
