"""Pure input checks of the administration and of evidence files: holiday-notice lines, file kinds."""
from __future__ import annotations

import io
import zipfile
from datetime import date

import pytest

from engine.domain.attachments import check_file, clean_name, sniff
from engine.errors import InvalidForm
from web.admin.working_days import parse_dates


def codes(errors) -> list[tuple[int, str]]:
    return [(e.line, e.code) for e in errors]


def test_dates_one_a_line_ranges_comments_and_blank_lines():
    days, errors = parse_dates("2027-01-01\n\n2027-02-10..2027-02-12  # 春节\n2027-02-11\n  # only a comment", 2027)
    assert errors == []
    assert days == [date(2027, 1, 1), date(2027, 2, 10), date(2027, 2, 11), date(2027, 2, 12)]
    assert parse_dates("2027-02-10 .. 2027-02-11", 2027)[0] == [date(2027, 2, 10), date(2027, 2, 11)]
    assert parse_dates("", 2027) == ([], [])


@pytest.mark.parametrize("line, code", [
    ("2027-1-1", "format"), ("2027/01/01", "format"), ("2027-02-30", "format"), ("tomorrow", "format"),
    ("2027-01-01..2027-13-01", "format"), ("2027-01-01, 2027-01-02", "format"),
    ("2027-02-12..2027-02-06", "order"), ("2027-01-01..2027-03-01", "long"), ("2026-12-31", "year"),
    ("2026-12-30..2027-01-02", "year"),
])
def test_each_bad_line_is_reported_with_its_number(line, code):
    days, errors = parse_dates(f"2027-01-01\n{line}", 2027)
    assert codes(errors) == [(2, code)] and days == [date(2027, 1, 1)]


def test_adjusted_working_days_are_weekend_days():
    days, errors = parse_dates("2027-02-14\n2027-02-08\n2027-02-13..2027-02-15", 2027, weekend_only=True)
    assert days == [date(2027, 2, 14)]
    assert [(e.line, e.code, e.day) for e in errors] == [(2, "weekday", date(2027, 2, 8)),
                                                        (3, "weekday", date(2027, 2, 15))]


def test_too_many_lines():
    assert codes(parse_dates("2027-01-01\n" * 201, 2027)[1]) == [(201, "too_many")]


def _zip(*names: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in names:
            archive.writestr(name, "x")
    return buffer.getvalue()


@pytest.mark.parametrize("content, kind", [
    (b"%PDF-1.7\n", "pdf"), (b"\x89PNG\r\n\x1a\n\x00", "png"), (b"\xff\xd8\xff\xdb", "jpg"),
    (_zip("[Content_Types].xml", "word/document.xml"), "docx"), (_zip("[Content_Types].xml", "xl/workbook.xml"), "xlsx"),
    ("纯文本\r\n第二行\t制表".encode("utf-8"), "txt"), ("纯文本".encode("gb18030"), "txt"), (b"\xef\xbb\xbfBOM", "txt"),
    (_zip("[Content_Types].xml", "word/document.xml", "word/vbaProject.bin"), None),  # macros
    (_zip("[Content_Types].xml", "ppt/presentation.xml"), None), (_zip("word/document.xml"), None),
    (b"PK\x03\x04 not really a zip", None), (b"MZ\x90\x00", None), (b"\x7fELF\x02\x01", None),
    (b"GIF89a\x01\x00", None), (b"text with a \x00 byte", None), (b"\x1b[31mred", None),
])
def test_files_are_known_by_their_magic_bytes(content, kind):
    assert sniff(content) == kind


def test_names_lose_folders_and_control_characters_and_must_match_the_content():
    assert clean_name("C:\\Users\\王\\证明.pdf") == "证明.pdf"
    assert clean_name("../../etc/passwd\x00.txt") == "passwd.txt"
    assert clean_name("a" * 300 + ".pdf").endswith(".pdf") and len(clean_name("a" * 300 + ".pdf")) == 200
    assert check_file("SCAN.JPEG", b"\xff\xd8\xff\xe0") == ("jpg", "SCAN.JPEG")
    for name, content, message in (("a.pdf", b"\x89PNG\r\n\x1a\n", "but the name ends in .pdf"),
                                   ("noext", b"%PDF-1.4", "ends in nothing"), ("", b"%PDF-1.4", "choose a file"),
                                   ("a.pdf", b"", "empty")):
        with pytest.raises(InvalidForm) as exc:
            check_file(name, content)
        assert message in exc.value.errors["file"]
