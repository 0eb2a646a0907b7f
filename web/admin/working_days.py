"""The working-day calendar (工作日): coverage by year, publishing a year's State Council notice,
single-date corrections, the after-hours policy, and the deadlines a calendar change moved."""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date, timedelta

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _, lazy_gettext as _l

from engine.calendar import OFFICE_END, POLICIES
from engine.errors import GovflowError
from engine.verbs import calendar as verbs
from engine.views import admin as views

from ..casefile import due_text
from ..context import actor, govflow
from ..errors import flash_refusal
from . import bp, today
from ..inputs import page_arg

MAX_LINES = 200
MAX_RANGE_DAYS = 31
DOCUMENT_LENGTH = 200
NOTE_LENGTH = 500
PER_PAGE = 50
RANGE = re.compile(r"^(\d{4}-\d{2}-\d{2})\s*\.\.\s*(\d{4}-\d{2}-\d{2})$")
POLICY_LABELS = {
    "calendar_date": _l("Calendar date: the day of receipt is the date a submission arrives, at any hour"),
    "next_working_day": _l("Next working day: a submission after office hours or on a non-working day counts "
                           "as received on the next working day"),
}


@dataclass(frozen=True)
class LineError:
    line: int
    text: str
    code: str
    day: date | None = None


def parse_dates(text: str, year: int | None, weekend_only: bool = False) -> tuple[list[date], list[LineError]]:
    """Dates from a textarea: one date (YYYY-MM-DD) or range (YYYY-MM-DD..YYYY-MM-DD) a line; text
    after ``#`` is a comment. Returns the sorted distinct dates and one error per bad line.

    ``weekend_only``: the lines list adjusted working days (调休), which are Saturdays or Sundays."""
    days, errors = set(), []
    lines = (text or "").splitlines()
    if len(lines) > MAX_LINES:
        return [], [LineError(MAX_LINES + 1, "", "too_many")]
    for number, raw in enumerate(lines, start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        found = _line_dates(line)
        if isinstance(found, str):
            errors.append(LineError(number, line, found))
            continue
        outside = next((d for d in found if year is not None and d.year != year), None)
        if outside is not None:
            errors.append(LineError(number, line, "year", outside))
            continue
        weekday = next((d for d in found if weekend_only and d.weekday() < 5), None)
        if weekday is not None:
            errors.append(LineError(number, line, "weekday", weekday))
            continue
        days.update(found)
    return sorted(days), errors


def _line_dates(line: str) -> list[date] | str:
    match = RANGE.match(line)
    try:
        if match is None:
            return [date.fromisoformat(line)] if re.fullmatch(r"\d{4}-\d{2}-\d{2}", line) else "format"
        first, last = date.fromisoformat(match[1]), date.fromisoformat(match[2])
    except ValueError:
        return "format"
    if last < first:
        return "order"
    if (last - first).days + 1 > MAX_RANGE_DAYS:
        return "long"
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def line_message(error: LineError, year: int | None) -> str:
    messages = {
        "format": _("Line %(line)s: “%(text)s” is neither a date (YYYY-MM-DD) nor a range "
                    "(YYYY-MM-DD..YYYY-MM-DD).", line=error.line, text=error.text),
        "order": _("Line %(line)s: the range ends before it starts.", line=error.line),
        "long": _("Line %(line)s: a range covers at most %(max)s days.", line=error.line, max=MAX_RANGE_DAYS),
        "year": _("Line %(line)s: %(day)s is not in %(year)s.", line=error.line, day=error.day, year=year),
        "weekday": _("Line %(line)s: %(day)s is a weekday; an adjusted working day (调休) is a Saturday or "
                     "Sunday.", line=error.line, day=error.day),
        "too_many": _("At most %(max)s lines.", max=MAX_LINES),
    }
    return messages[error.code]


# -- pages --------------------------------------------------------------------------------------

@bp.get("/calendar")
def calendar(values: dict | None = None, errors: dict | None = None, status: int = 200):
    """Coverage by year, the forms to publish a year, correct a date and choose the policy."""
    now = today()
    page = views.calendar_page(govflow(), now)
    return render_template(
        "admin/calendar.html", status=page.status, coverage=page.coverage, package=page.package_years,
        overrides=page.corrections, policies=[(p, POLICY_LABELS[p]) for p in POLICIES],
        office_end=OFFICE_END.strftime("%H:%M"),
        values={"year": str(page.status.missing_year or now.year + 1), **(values or {})}, errors=errors or {}), status


@bp.post("/calendar/publish")
def publish():
    """Enter a year's State Council holiday notice: its number, holidays and adjusted working days."""
    form = request.form
    values = {k: form.get(k, "")[:20_000] for k in ("year", "document", "holidays", "workdays")}
    year, document, errors = _year(values["year"]), values["document"].strip(), {}
    if year is None:
        errors["year"] = [_("Enter a year between %(low)s and %(high)s.", low=today().year - 1, high=today().year + 5)]
    elif year in _package_years():
        errors["year"] = [_("The installed holiday package covers %(year)s already; correct single dates below.",
                            year=year)]
    if not document or len(document) > DOCUMENT_LENGTH:
        errors["document"] = [_("Enter the notice's document number (at most %(max)s characters).",
                                max=DOCUMENT_LENGTH)]
    holidays, bad_holidays = parse_dates(values["holidays"], year)
    workdays, bad_workdays = parse_dates(values["workdays"], year, weekend_only=True)
    if bad_holidays or not holidays:
        errors["holidays"] = [line_message(e, year) for e in bad_holidays] or [_("Enter at least one holiday.")]
    if bad_workdays:
        errors["workdays"] = [line_message(e, year) for e in bad_workdays]
    both = sorted(set(holidays) & set(workdays))
    if both:
        errors.setdefault("workdays", []).append(_("%(days)s listed both as holiday and as working day.",
                                                   days=", ".join(d.isoformat() for d in both)))
    if errors:
        flash(_("Please correct the marked fields."), "error")
        return calendar(values, errors, 422)
    try:
        moved = verbs.publish_year(govflow(), actor(), year, document, holidays, workdays)
    except GovflowError as exc:
        flash_refusal(exc)
        return calendar(values, {}, 422)
    flash(_("%(year)s published (%(document)s): %(holidays)s holidays, %(workdays)s adjusted working days; "
            "%(moved)s running deadline(s) recomputed.", year=year, document=document, holidays=len(holidays),
            workdays=len(workdays), moved=moved), "success")
    return redirect(url_for("admin.calendar"))


@bp.post("/calendar/override")
def override():
    """Correct one date: a working day or a rest day, with a note; running deadlines move."""
    form = request.form
    values = {"day": form.get("day", "").strip()[:20], "kind": form.get("kind", "")[:10],
              "note": form.get("note", "")[:2000]}
    note, errors = values["note"].strip(), {}
    day = _day(values["day"])
    if day is None:
        errors["day"] = [_("Enter a date (YYYY-MM-DD) between %(low)s and %(high)s.",
                           low=today().year - 1, high=today().year + 5)]
    if values["kind"] not in ("working", "rest"):
        errors["kind"] = [_("Choose working day or rest day.")]
    if not note or len(note) > NOTE_LENGTH:
        errors["note"] = [_("Give the reason (at most %(max)s characters).", max=NOTE_LENGTH)]
    if errors:
        flash(_("Please correct the marked fields."), "error")
        return calendar(values, errors, 422)
    kind = values["kind"]
    moved = verbs.set_override(govflow(), actor(), day, kind == "working", note)
    flash(_("%(day)s is now a %(kind)s; %(moved)s running deadline(s) recomputed.", day=day.isoformat(),
            kind=_("working day") if kind == "working" else _("rest day"), moved=moved), "success")
    return redirect(url_for("admin.calendar"))


@bp.post("/calendar/policy")
def policy():
    """How submissions after office hours or on a non-working day count (docs/deadlines.md)."""
    choice = request.form.get("policy", "")
    try:
        verbs.set_after_hours_policy(govflow(), actor(), choice)
    except GovflowError as exc:
        flash_refusal(exc)
        return redirect(url_for("admin.calendar"))
    flash(_("After-hours policy saved."), "success")
    return redirect(url_for("admin.calendar"))


@bp.get("/calendar/moved")
def moved():
    """Running deadlines a calendar change re-projected, newest first."""
    page = page_arg()
    found = views.moved_deadlines(govflow(), actor(), PER_PAGE, (page - 1) * PER_PAGE)
    rows = [replace(m, old=due_text(m.old), new=due_text(m.new)) for m in found.rows]
    return render_template("admin/moved.html", rows=rows, page=page, pages=max(1, -(-found.total // PER_PAGE)),
                           total=found.total)


def _day(text: str) -> date | None:
    """A date within the years an administrator may correct (the calendar is precomputed per year)."""
    try:
        day = date.fromisoformat(text)
    except ValueError:
        return None
    return day if _year(str(day.year)) is not None else None


def _year(text: str) -> int | None:
    try:
        year = int(text.strip())
    except ValueError:
        return None
    return year if today().year - 1 <= year <= today().year + 5 else None


def _package_years() -> range:
    return views.package_years(govflow())
