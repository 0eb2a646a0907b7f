"""The ``performance`` blueprint (绩效评价, art. 26): figures per department and period for the data
authority (every department) and department heads (their own only), as a table, charts, and Excel
or CSV files. With every department, the authority also sees its own steps (its statutory periods
and tasks, engine.views.performance) in a table of their own, on a second sheet of the workbook
and as the CSV's last line; they are not part of the county's total."""
from __future__ import annotations

import csv
import io
from dataclasses import replace
from datetime import date

from flask import Blueprint, Response, render_template, request
from flask_babel import gettext as _, lazy_gettext as _l
from openpyxl import Workbook
from openpyxl.styles import Font

from engine.calendar import BEIJING
from engine.errors import InvalidForm
from engine.views import performance

from .context import actor, govflow
from .errors import error_page
from .i18n import localise

bp = Blueprint("performance", __name__, url_prefix="/performance")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
COLUMNS = (  # attribute of engine.views.performance.Figures, heading, number format in Excel
    ("name", _l("Department"), None),
    ("cases_handled", _l("Cases handled"), "0"),
    ("tasks_completed", _l("Tasks completed"), "0"),
    ("with_deadline", _l("With a due date"), "0"),
    ("on_time", _l("On time"), "0"),
    ("on_time_rate", _l("On-time rate"), "0.0%"),
    ("overdue", _l("Overdue"), "0"),
    ("mean_reply_days", _l("Mean reply time (working days)"), "0.00"),
    ("violations_recorded", _l("Violations recorded"), "0"),
    ("violations_open", _l("Open violations"), "0"),
)
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@bp.before_request
def evaluators_only():
    performance.scope(actor(), None)  # PermissionDenied (403) for anyone but the authority and heads


@bp.get("/")
def index():
    """The form (period, department) and, when it is valid, the figures as a table and charts."""
    values, period, department, errors = _query()
    evaluation = performance.evaluation(govflow(), actor(), period if not errors else None, department)
    found = evaluation.report
    return render_template("performance/index.html", values=values, report=found, errors=errors,
                           departments=evaluation.departments, columns=COLUMNS, chart=_chart(found) if found else None,
                           authority=_authority_line(found) if found else None), 400 if errors else 200


@bp.get("/export.xlsx")
def export_xlsx():
    """The figures as an Excel workbook."""
    _values, period, department, errors = _query()
    if errors:
        return error_page(400, " ".join(errors.values()))
    found = _report(period, department)
    book = Workbook()
    sheet = book.active
    sheet.title = _("Performance")[:31]
    _sheet_rows(sheet, _lines(found))
    own = _authority_line(found)
    if own is not None:  # the authority's own steps: a sheet of their own, not a line of the county
        _sheet_rows(book.create_sheet(_("The authority's own steps")[:31]), [own])
    out = io.BytesIO()
    book.save(out)
    return _download(out.getvalue(), XLSX, found, "xlsx")


@bp.get("/export.csv")
def export_csv():
    """The figures as CSV: UTF-8 with a byte-order mark, so that Excel reads the Chinese names."""
    _values, period, department, errors = _query()
    if errors:
        return error_page(400, " ".join(errors.values()))
    found = _report(period, department)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([str(heading) for _name, heading, _format in COLUMNS])
    own = _authority_line(found)
    for figures in _lines(found) + ([own] if own is not None else []):
        writer.writerow([_csv_value(name, getattr(figures, name)) for name, _heading, _format in COLUMNS])
    return _download(("\ufeff" + out.getvalue()).encode("utf-8"), "text/csv", found, "csv")  # Flask adds the charset


def _query():
    """(entered values, period, department, errors by field) from the query string."""
    today = govflow().clock.now().astimezone(BEIJING).date()
    args = request.args
    values = {"from": args.get("from", date(today.year, 1, 1).isoformat()), "to": args.get("to", today.isoformat()),
              "department": (args.get("department") or "").strip()[:40]}
    errors, days = {}, {}
    for field in ("from", "to"):
        try:
            days[field] = date.fromisoformat(values[field]) if values[field] else None
        except ValueError:
            errors[field] = _("Enter a date as YYYY-MM-DD.")
    department = performance.scope(actor(), values["department"] or None)
    if errors:
        return values, None, department, errors
    try:
        return values, performance.Period.of(days["from"], days["to"]), department, {}
    except InvalidForm as exc:
        return values, None, department, {k: localise(v) for k, v in exc.errors.items()}


def _report(period: performance.Period, department: str | None) -> performance.Report:
    return performance.report(govflow(), actor(), period, department)


def _lines(found: performance.Report) -> list[performance.Figures]:
    """The departments' rows, then the county's total when there is more than one."""
    if len(found.rows) < 2:
        return found.rows
    return [*found.rows, replace(found.total, name=_("Total"))]


def _sheet_rows(sheet, lines: list[performance.Figures]) -> None:
    """The headings in bold, then a line per row with the columns' number formats."""
    sheet.append([str(heading) for _name, heading, _format in COLUMNS])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for figures in lines:
        sheet.append([_cell(getattr(figures, name)) for name, _heading, _format in COLUMNS])
        for cell, (_name, _heading, number_format) in zip(sheet[sheet.max_row], COLUMNS):
            if number_format:
                cell.number_format = number_format
    sheet.column_dimensions["A"].width = 28


def _authority_line(found: performance.Report) -> performance.Figures | None:
    """The authority's own figures, named as such (None when one department is evaluated)."""
    if found.authority is None:
        return None
    name = found.authority.name or _("The data authority")
    return replace(found.authority, name=_("%(name)s (the authority's own steps)", name=name))


def _cell(value):
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value  # a name is never a formula in the reader's spreadsheet
    return value


def _csv_value(name: str, value) -> str:
    if value is None:
        return ""
    if name == "on_time_rate":
        return f"{value * 100:.1f}%"
    if name == "mean_reply_days":
        return f"{value:.2f}"
    return str(_cell(value))


def _download(body: bytes, mimetype: str, found: performance.Report, suffix: str) -> Response:
    name = f"performance_{found.period.start.isoformat()}_{found.period.end.isoformat()}.{suffix}"
    return Response(body, mimetype=mimetype, headers={"Content-Disposition": f'attachment; filename="{name}"'})


def _chart(found: performance.Report) -> dict:
    """What performance.js draws: one bar per department."""
    return {
        "labels": [r.name for r in found.rows],
        "rate": [round(r.on_time_rate * 100, 1) if r.on_time_rate is not None else None for r in found.rows],
        "overdue": [r.overdue for r in found.rows],
        "reply": [round(r.mean_reply_days, 2) if r.mean_reply_days is not None else None for r in found.rows],
        "titles": {"rate": _("On-time rate (%)"), "overdue": _("Overdue"),
                   "reply": _("Mean reply time (working days)")},
    }
