"""Excel template, export and import of one department's catalog (openpyxl; arts. 7, 8, 9).

One row per resource under a header row of Chinese column titles; data items one a line as
``字段名|类型|说明``, materials one a line. An import is all or nothing: a file with any error imports
nothing, and every error names its row and column.
"""
from __future__ import annotations

import io
import warnings
import zipfile
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import Any, BinaryIO

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from sqlalchemy.orm import Session

from ..errors import GovflowError
from ..messages import Message, msg
from ..uow import Actor, UnitOfWork
from . import catalog
from .org import department_by_code

SHEET_TITLE = "政务数据资源目录"
HELP_TITLE = "填写说明"
MAX_ROWS = 5000
MAX_BYTES = 10 * 1024 * 1024
MAX_UNPACKED_BYTES = 100 * 1024 * 1024  # a small zip may inflate to gigabytes
MAX_COLUMNS = 200
COLUMNS = list(catalog.FIELDS)
TITLES = {name: spec.zh for name, spec in catalog.FIELDS.items()}
WIDE = {"name": 24, "summary": 40, "data_items": 40, "share_basis": 36, "usage_requirements": 30,
        "materials": 30, "share_conditions": 30, "share_reason": 30, "open_conditions": 24, "open_reason": 24}
NOTES = {
    "code": "必填；字母、数字和 - _ .，全县唯一，如 HN-GA-001",
    "classification": "必填；基础库、主题库或部门库（第十二条）",
    "category": "必填；如 人口、法人、电子证照、空间地理、宏观经济、信用（第十二条）",
    "data_items": "必填；每行一项：字段名|类型|说明（说明可省略）",
    "share_conditions": "有条件共享时必填",
    "share_reason": "有条件共享、不予共享时必填（第十五条）",
    "share_basis": "有条件共享、不予共享时必填：法律、行政法规或党中央、国务院、省、市文件依据（第十五条）",
    "share_method": "无条件、有条件共享时必填",
    "usage_requirements": "无条件、有条件共享时必填（第七条）",
    "materials": "无条件、有条件共享时必填：申请时须提供的全部材料，每行一项（第十六条）",
    "open_type": "必填；不予共享的资源不能无条件开放（第二十四条）",
    "open_conditions": "有条件开放时必填（第二十四条）",
    "open_reason": "非开放时必填（第二十四条）",
    "status": "在用或停用；留空为在用",
}


@dataclass(frozen=True)
class RowError:
    """One problem of an import: the Excel row and column title (None for the file as a whole)."""

    row: int | None
    column: str | None
    message: Message | str
    letter: str | None = None  # the column letter as Excel shows it

    @property
    def text(self) -> Message:
        """The problem with where it is."""
        if self.row is None:
            return msg("catalog_excel.file_problem", "file: {problem}", problem=self.message)
        if self.letter:
            return msg("catalog_excel.cell_problem", "row {row}, column {letter} ({column}): {problem}",
                       row=self.row, letter=self.letter, column=self.column or "—", problem=self.message)
        return msg("catalog_excel.row_problem", "row {row} ({column}): {problem}", row=self.row,
                   column=self.column or "—", problem=self.message)

    def __str__(self) -> str:
        return self.text


class ImportRejected(GovflowError):
    """The file was refused as a whole; ``errors`` lists every problem found."""

    code = "import_rejected"

    def __init__(self, errors: list[RowError]):
        self.errors = errors
        super().__init__(msg("catalog_excel.import_refused", "import refused: {count} problem(s), nothing imported",
                             count=len(errors)))

    def __str__(self) -> str:
        """The refusal and the first 20 problems, one a line (for logs and the command line)."""
        shown = "\n".join(str(e) for e in self.errors[:20]) + ("\n…" if len(self.errors) > 20 else "")
        return f"{self.args[0]}\n{shown}"


def _file_problem() -> Message:
    return msg("catalog_excel.not_xlsx", "the file is corrupt or not an .xlsx workbook; save it as .xlsx and try again")


@dataclass(frozen=True)
class ImportResult:
    draft_id: int
    count: int


@dataclass(frozen=True)
class SheetRows:
    """The non-empty rows of a sheet as (Excel row number, cell text by field), and column letters."""

    rows: list[tuple[int, dict[str, str]]]
    letters: dict[str, str]


# -- writing --------------------------------------------------------------------------------------

def write_template(path: str | Path | BinaryIO) -> None:
    """An empty catalog workbook: header row, drop-down lists and a sheet of instructions."""
    _workbook([]).save(path)


def export_catalog(session: Session, dept_code: str, path: str | Path | BinaryIO, draft: bool = False) -> int:
    """Write the department's live catalog (or its open draft) and return the number of resources."""
    version = catalog.find_version(session, dept_code, None) if draft else catalog.live_version(session, dept_code)
    entries = catalog.entries_of(session, version.id) if version is not None else []
    _workbook([e.data() for e in entries]).save(path)
    return len(entries)


def _workbook(rows: list[dict[str, Any]]) -> Workbook:
    book = Workbook()
    sheet = book.active
    sheet.title = SHEET_TITLE
    _write_header(sheet)
    for number, values in enumerate(rows, 2):
        for column, name in enumerate(COLUMNS, 1):
            _put(sheet.cell(number, column), cell_text(name, values[name]))
    _add_dropdowns(sheet)
    _write_help(book.create_sheet(HELP_TITLE))
    return book


def cell_text(name: str, value: Any) -> str:
    """How one field is written in a cell (choice labels, one list item a line)."""
    if name == "data_items":
        return catalog.items_to_text(value)
    if name == "materials":
        return catalog.materials_to_text(value)
    return catalog.label_of(name, value) if name in catalog.CHOICES else value


def _put(cell, text: str) -> None:
    cell.value = text or None
    if text:
        cell.data_type = "s"  # a text starting with "=" stays text, never a formula
    if "\n" in text:
        cell.alignment = Alignment(wrap_text=True, vertical="top")


def _write_header(sheet) -> None:
    for column, name in enumerate(COLUMNS, 1):
        cell = sheet.cell(1, column, TITLES[name])
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="DDEBF7")
        sheet.column_dimensions[get_column_letter(column)].width = WIDE.get(name, 14)
    sheet.freeze_panes = "A2"


def _add_dropdowns(sheet) -> None:
    for column, name in enumerate(COLUMNS, 1):
        if name in catalog.CHOICES:
            labels = ",".join(catalog.CHOICES[name].values())
            check = DataValidation(type="list", formula1=f'"{labels}"', allow_blank=True)
            letter = get_column_letter(column)
            check.add(f"{letter}2:{letter}{MAX_ROWS + 1}")
            sheet.add_data_validation(check)


def _write_help(sheet) -> None:
    sheet.append(["列名", "填写要求", "可选值"])
    for name in COLUMNS:
        required = "必填" if name in catalog.ALWAYS_REQUIRED else ""
        choices = "、".join(catalog.CHOICES[name].values()) if name in catalog.CHOICES else ""
        sheet.append([TITLES[name], NOTES.get(name, required), choices])
    sheet.append([])
    sheet.append([f"每个文件不超过 {MAX_ROWS} 行、{MAX_BYTES // 1024 // 1024} MB；任何一行有错时整个文件不导入。"])
    for letter, width in zip("ABC", (22, 70, 50)):
        sheet.column_dimensions[letter].width = width


# -- reading --------------------------------------------------------------------------------------

def read_rows(source: str | Path | bytes | BinaryIO) -> SheetRows:
    """The resources' rows of the workbook; ImportRejected if it is unreadable, too big or empty."""
    content = _read_bytes(source)
    _check_package(content)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # openpyxl on styles or extensions it skips
            book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
            try:
                return _rows(book)
            finally:
                book.close()
    except ImportRejected:
        raise
    except Exception:  # noqa: BLE001 - whatever breaks while parsing untrusted bytes is a bad file
        raise ImportRejected([RowError(None, None, _file_problem())]) from None


def _read_bytes(source: str | Path | bytes | BinaryIO) -> bytes:
    if isinstance(source, (str, Path)):
        with open(source, "rb") as handle:
            content = handle.read(MAX_BYTES + 1)
    else:
        content = source if isinstance(source, bytes) else source.read(MAX_BYTES + 1)
    if len(content) > MAX_BYTES:
        raise ImportRejected([RowError(None, None, msg("catalog_excel.too_large",
                                                       "the file is larger than the {megabytes} MB limit",
                                                       megabytes=MAX_BYTES // 1024 // 1024))])
    return content


def _check_package(content: bytes) -> None:
    """An .xlsx is a zip with a workbook part; refuse anything else before openpyxl parses it."""
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as package:
            members = package.infolist()
            names = {m.filename for m in members}
            unpacked = sum(m.file_size for m in members)
            unsafe = any(_declares_entities(package, m) for m in members if m.filename.endswith((".xml", ".rels")))
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        raise ImportRejected([RowError(None, None, _file_problem())]) from None
    if "xl/workbook.xml" not in names or "[Content_Types].xml" not in names:
        raise ImportRejected([RowError(None, None, _file_problem())])
    if unpacked > MAX_UNPACKED_BYTES or unsafe:
        raise ImportRejected([RowError(None, None, msg("catalog_excel.unsafe", "the workbook inflates too far or "
                                                                              "declares XML entities"))])


def _declares_entities(package: zipfile.ZipFile, member: zipfile.ZipInfo) -> bool:
    """A DTD has no place in an .xlsx; refuse it rather than trust the parser with entities."""
    if member.file_size > MAX_UNPACKED_BYTES:
        return True
    tail = b""
    with package.open(member) as part:
        while chunk := part.read(1 << 20):
            window, tail = tail + chunk, chunk[-16:]
            if b"<!DOCTYPE" in window or b"<!ENTITY" in window:
                return True
    return False


def _rows(book) -> SheetRows:
    sheet = book[SHEET_TITLE] if SHEET_TITLE in book.sheetnames else book.worksheets[0]
    rows = sheet.iter_rows(max_col=MAX_COLUMNS, values_only=True)
    positions = _positions(next(rows, ()))
    found = []
    for number, row in enumerate(rows, 2):
        values = {name: _text(row[i]) if i < len(row) else "" for name, i in positions.items()}
        if not any(values.values()):
            continue
        if len(found) == MAX_ROWS:
            raise ImportRejected([RowError(number, None, msg("catalog_excel.too_many_rows",
                                                             "more than {max_rows} resources in one file",
                                                             max_rows=MAX_ROWS))])
        found.append((number, values))
    if not found:
        raise ImportRejected([RowError(None, None, msg("catalog_excel.no_rows", "the file lists no resources"))])
    return SheetRows(found, {name: get_column_letter(i + 1) for name, i in positions.items()})


def _positions(header: tuple) -> dict[str, int]:
    """Field → column index, found by the header titles (columns may be in any order)."""
    titles = [_text(value) for value in header]
    missing = [TITLES[name] for name in COLUMNS if TITLES[name] not in titles]
    if missing:
        raise ImportRejected([RowError(1, title, msg("catalog_excel.column_missing",
                                                     "the column is missing; use the template"))
                              for title in missing])
    return {name: titles.index(TITLES[name]) for name in COLUMNS}


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time() else value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip()


# -- importing ------------------------------------------------------------------------------------

def check_rows(session: Session, dept_code: str, sheet: SheetRows) -> list[RowError]:
    """Every problem of every row: field validation, codes repeated in the file or owned elsewhere."""
    department = department_by_code(session, dept_code)
    taken = catalog.codes_taken(session, department.id, [values["code"] for _, values in sheet.rows])
    errors, first_row = [], {}
    for number, values in sheet.rows:
        problems = catalog.validate_entry(values)
        code = values["code"]
        if code in first_row and "code" not in problems:
            problems["code"] = msg("catalog_excel.code_repeated",
                                   "the code repeats row {first_row}", resource_code=code,
                                   first_row=first_row[code])
        elif code in taken and "code" not in problems:
            problems["code"] = msg("catalog_excel.code_taken", "another department's code", resource_code=code,
                                   department=taken[code])
        first_row.setdefault(code, number)
        errors += [RowError(number, TITLES[name], problems[name], sheet.letters[name])
                   for name in COLUMNS if name in problems]
    return errors


def import_catalog(uow: UnitOfWork, dept_code: str, source: str | Path | bytes | BinaryIO,
                   actor: Actor | str, now: datetime) -> ImportResult:
    """Replace the resources of the department's draft (opened if needed) with the file's rows."""
    sheet = read_rows(source)
    errors = check_rows(uow.session, dept_code, sheet)
    if errors:
        raise ImportRejected(errors)
    draft = catalog.open_draft(uow, dept_code, actor, now)
    count = catalog.replace_entries(uow, draft.id, [values for _, values in sheet.rows], actor, now,
                                    source="excel")
    return ImportResult(draft.id, count)
