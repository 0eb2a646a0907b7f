"""The catalog workbook without a database: template, reading, and refusing bad or hostile files."""
from __future__ import annotations

import io
import zipfile
from datetime import datetime

import pytest
from openpyxl import Workbook, load_workbook

from engine.domain import catalog_excel as excel
from engine.domain.catalog_excel import COLUMNS, TITLES, ImportRejected, read_rows, write_template

ROW = {"code": "HN-GA-001", "name": "居民身份证办理进度", "classification": "部门库", "category": "政务服务",
       "summary": "办理状态", "format": "数据库表", "data_items": "受理编号|字符\n办理状态|字符|受理/制证",
       "update_frequency": "实时", "share_type": "无条件共享", "share_method": "接口",
       "usage_requirements": "仅限履职", "materials": "共享申请表", "open_type": "非开放", "open_reason": "个人信息"}


def workbook_bytes(rows: list[dict], columns: list[str] = COLUMNS) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append([TITLES[name] for name in columns])
    for row in rows:
        sheet.append([row.get(name) for name in columns])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def refusal(source) -> str:
    with pytest.raises(ImportRejected) as refused:
        read_rows(source)
    return str(refused.value)


def test_the_template_has_every_column_drop_downs_and_instructions(tmp_path):
    write_template(tmp_path / "t.xlsx")
    book = load_workbook(tmp_path / "t.xlsx")
    sheet, help_sheet = book.worksheets
    assert [c.value for c in sheet[1]] == [TITLES[name] for name in COLUMNS]
    assert sheet.title == "政务数据资源目录" and sheet.freeze_panes == "A2"
    assert any("有条件共享" in (v.formula1 or "") for v in sheet.data_validations.dataValidation)
    notes = {row[0]: row[1] for row in help_sheet.iter_rows(min_row=2, values_only=True) if row[0]}
    assert "第十六条" in notes["申请材料"] and "第十五条" in notes["有条件/不予共享依据"]
    assert "没有任何资源" in refusal(tmp_path / "t.xlsx")


def test_rows_are_read_by_header_title_in_any_column_order():
    columns = list(reversed(COLUMNS))
    content = workbook_bytes([ROW, {}, {**ROW, "code": "HN-GA-002"}], columns)
    sheet = read_rows(io.BytesIO(content))
    assert [number for number, _ in sheet.rows] == [2, 4]  # the blank row 3 is skipped, numbers kept
    number, values = sheet.rows[0]
    assert values["data_items"] == ROW["data_items"] and values["open_reason"] == "个人信息"
    assert values["share_conditions"] == "" and sheet.letters["code"] == "S" and sheet.letters["status"] == "A"


def test_numbers_and_dates_in_cells_become_text():
    sheet = read_rows(workbook_bytes([{**ROW, "code": 42.0, "summary": datetime(2026, 3, 2), "category": 1.5}]))
    values = sheet.rows[0][1]
    assert (values["code"], values["summary"], values["category"]) == ("42", "2026-03-02", "1.5")


def test_a_text_that_looks_like_a_formula_is_written_as_text(tmp_path):
    book = excel._workbook([{name: "" for name in COLUMNS} | {
        "code": "X-1", "summary": "=1+1", "data_items": [], "materials": [], "status": "active"}])
    book.save(tmp_path / "f.xlsx")
    cell = load_workbook(tmp_path / "f.xlsx").worksheets[0]["E2"]
    assert (cell.value, cell.data_type) == ("=1+1", "s")


def test_a_missing_column_is_reported_with_its_title():
    content = workbook_bytes([ROW], [name for name in COLUMNS if name != "materials"])
    with pytest.raises(ImportRejected) as refused:
        read_rows(content)
    assert [(e.row, e.column) for e in refused.value.errors] == [(1, "申请材料")]


@pytest.mark.parametrize("content", [
    b"",
    b"name,code\n",  # a CSV renamed to .xlsx
    b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600,  # an old binary .xls
    b"PK\x03\x04garbage",
    workbook_bytes([ROW])[:1500],  # truncated
])
def test_a_file_that_is_not_an_xlsx_workbook_is_refused(content):
    assert "不是 Excel 工作簿" in refusal(content)


def test_a_zip_without_a_workbook_is_refused():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as package:
        package.writestr("[Content_Types].xml", "<Types/>")
    assert "不是 Excel 工作簿" in refusal(buffer.getvalue())


def test_a_broken_sheet_inside_a_valid_package_is_refused():
    original = zipfile.ZipFile(io.BytesIO(workbook_bytes([ROW])))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as package:
        for item in original.infolist():
            data = original.read(item)
            package.writestr(item, data[: len(data) // 2] if item.filename.startswith("xl/worksheets/") else data)
    assert "不是 Excel 工作簿" in refusal(buffer.getvalue())


def test_xml_entity_declarations_are_refused():
    original = zipfile.ZipFile(io.BytesIO(workbook_bytes([ROW])))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as package:
        for item in original.infolist():
            data = original.read(item)
            if item.filename == "xl/workbook.xml":
                data = b'<!DOCTYPE workbook [<!ENTITY a "aaaa">]>' + data
            package.writestr(item, data)
    assert "不安全" in refusal(buffer.getvalue())


def test_files_over_the_byte_limits_are_refused(monkeypatch):
    content = workbook_bytes([ROW] * 50)
    monkeypatch.setattr(excel, "MAX_BYTES", len(content) - 1)
    assert "MB" in refusal(content)
    monkeypatch.setattr(excel, "MAX_BYTES", 10 * 1024 * 1024)
    monkeypatch.setattr(excel, "MAX_UNPACKED_BYTES", 4096)
    assert "过大" in refusal(content)


def test_more_rows_than_the_limit_are_refused(monkeypatch):
    monkeypatch.setattr(excel, "MAX_ROWS", 3)
    assert len(read_rows(workbook_bytes([ROW] * 3)).rows) == 3
    message = refusal(workbook_bytes([ROW] * 4))
    assert "超过 3 行" in message and "第 5 行" in message
