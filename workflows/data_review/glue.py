"""Procedure ``data_review`` — objection review and extension (复核, art. 18; docs/procedures.md section 3).

A department, a natural person, a legal person or another organisation objects to a record of a
provider department; the platform registers the objection and gives the objector a receipt code
(``receipt_code`` in the case data) with which the answer can be looked up without a login
(``engine.domain.objections.objection_by_receipt``): the answer reaches the objector through the
platform because it is written on the objection record.

Two branches run in parallel. The provider's clerk verifies and answers; the answer ends the whole
case (terminate end, outcome ``corrected`` or ``confirmed``). Meanwhile the clerk may, once and only
before the period ends (the request lapses when it ends), ask for up to
``rules.review_extension_max_days`` more working days; the department head approves (the running
period moves to its original end + those working days, docs/deadlines.md) or refuses (it stays). An
approval after the original period has ended is refused with a clear message; the head can still
record a refusal.

Deadlines (``PERIODS``; docs/deadlines/data_review.md has the table): one period of the provider
department, ``review`` (art. 18: ``review_reply_days`` from the receipt of the objection), covers
the clerk's answer, the clerk's request and the 数长's decision on it. It is reminded once (on the
answer: the clerk who owes it is told; the 数长 is told of the request as a new task), and when it
passes, one 督办 is raised against the department (art. 31 item 3), whichever of its open tasks is
found late first; the authority's decision on the 督办 is timed as the authority's own period
(reminded, marked late, no 督办 against the authority). The request window (``request_window``)
closes at the period's end and, like every timer that acts against a party, is held while the end
is provisional (an unpublished year).

Untimed on purpose: the objector (the public) has no task; the request itself has no overdue of
its own (asking for more time is optional; it lapses at the period's end instead).

Accepted consequence of the terminate end: an answer cancels a pending extension request or
approval and a pending 督办 decision of the authority in this case, but the supervision item itself
stays open on the authority's dashboard, where it can still be confirmed or dismissed (the
authority's decision period then closes with the case, as met unless it had already passed).
"""
from __future__ import annotations

from datetime import date, datetime

from engine import periods
from engine.deadlines import workdays
from engine.domain import catalog

from . import records as objections
from .public import PUBLIC_OBJECTIONS
from engine.errors import InvalidForm, NotFound
from engine.forms import FormField, Option
from engine.messages import msg
from engine.periods import PeriodSpec

from ..common import FUNCTIONS as COMMON

START_ROLES = {"public"}  # art. 18: departments and the public; anyone may raise an objection

# The statutory periods the diagram watches (docs/deadlines/data_review.md).
PERIODS = {
    # art. 18: 10 working days from the receipt of the objection, for the department: the clerk's
    # answer, the clerk's request for an extension and the 数长's decision on it together; an
    # approved extension (art. 18: once, at most review_extension_max_days, counted from the end
    # of the original period) moves this period, it does not open another. Late: art. 31 item 3.
    "review": PeriodSpec("review_reply_days", "department", "18", "核实并答复复核申请", item=3),
    # the authority's decision on the 督办 (design: authority_decide_days); reminded, marked late
    "review_supervise": PeriodSpec("authority_decide_days", "authority", "31", "督办决定"),
}

START_FORM = [
    FormField("objector_kind", "申请人类型", "enum", options=tuple(
        Option(key, name) for key, name in objections.OBJECTOR_KINDS.items()), validation={"required": None}),
    FormField("objector_name", "申请人名称或联系人", validation={"maxlength": "200"}),
    FormField("contact_phone", "联系电话", validation={"maxlength": "50"}),
    FormField("contact_email", "电子邮箱", validation={"maxlength": "200"}),
    FormField("resource", "数据资源", "enum", properties={"options": "dynamic"}, validation={"required": None}),
    FormField("record_ref", "有疑义的数据记录", validation={"required": None, "maxlength": "500"}),
    FormField("description", "疑义或错误说明", "textarea", validation={"required": None, "maxlength": "5000"}),
    FormField("evidence", "证明材料说明", "textarea", validation={"maxlength": "5000"}),
]


def form_options(ctx, element_id: str, data: dict) -> dict:
    """The start form offers every published resource, named with its provider department."""
    if element_id != "__start__":
        return {}
    return {"resource": [(e.code, f"{e.code} {e.name}（{e.department.name}）")
                         for e in catalog.published_catalog(ctx.session)]}


def check_start(ctx, cleaned: dict) -> dict:
    """Who objects and how to answer them; which provider holds the record; the day of receipt."""
    errors = _objector_errors(ctx, cleaned)
    if errors:
        raise InvalidForm(errors)
    try:
        entry = catalog.get_resource(ctx.session, cleaned["resource"])
    except NotFound as exc:
        raise InvalidForm({"resource": str(exc)}) from None
    cleaned.update(resource_code=entry.code, resource_name=entry.name,
                   provider_department=entry.department.code, provider_department_name=entry.department.name,
                   received_on=ctx.services.receipt_date(ctx.session, ctx.now).isoformat())
    if cleaned["objector_kind"] == "department":
        cleaned["objector_department"] = ctx.actor.department
    return cleaned


def _objector_errors(ctx, cleaned: dict) -> dict[str, str]:
    """art. 18: a department is known by its clerk's login; anyone else needs a name and a contact."""
    errors = {}
    phone, email = cleaned.get("contact_phone", ""), cleaned.get("contact_email", "")
    if cleaned["objector_kind"] == "department":
        if not ctx.actor.department:
            errors["objector_kind"] = msg("data_review.department_objection_needs_login",
                                          "a department objection must be submitted by a member of the department")
    else:
        if not cleaned.get("objector_name"):
            errors["objector_name"] = msg("data_review.objector_name_required", "the objector's name is required")
        if not (phone or email):
            errors["contact_phone"] = objections.contact_required()
    if phone and not objections.PHONE.match(phone):
        errors["contact_phone"] = objections.phone_invalid()
    if email and "@" not in email:
        errors["contact_email"] = objections.email_invalid()
    return errors


def title(data: dict) -> str:
    return f"复核申请：{data.get('resource_code', '')} {data.get('resource_name', '')} — {data.get('record_ref', '')}"


def check_task(ctx, element_id: str, cleaned: dict) -> dict:
    """Rules across a task's fields. Optional fields a diagram script names get "" (scripts fail on
    a missing variable)."""
    check = _TASK_CHECKS.get(element_id)
    return check(ctx, cleaned) if check else cleaned


def _check_answer(ctx, cleaned: dict) -> dict:
    correction = cleaned.setdefault("correction", "")
    if cleaned["outcome"] == "corrected" and not correction:
        raise InvalidForm({"correction": objections.correction_required()})
    if cleaned["outcome"] == "confirmed" and correction:
        raise InvalidForm({"correction": msg("data_review.no_correction_when_confirmed",
                                             "a confirmed record has no correction")})
    return cleaned


def _check_request(ctx, cleaned: dict) -> dict:
    """art. 18: at most ``review_extension_max_days``, asked before the period ends (the request
    lapses then; this also holds if an analyst's diagram drops the window). Not while the end is
    provisional: a guessed date acts against nobody (docs/deadlines.md)."""
    maximum = ctx.rules.review_extension_max_days
    if not 1 <= cleaned["extension_days"] <= maximum:
        raise InvalidForm({"extension_days": objections.extension_out_of_range(maximum)})
    due_date, end, provisional = original_end(ctx)
    if ctx.now >= end and not provisional:
        raise InvalidForm({"extension_days": msg(
            "data_review.extension_request_too_late",
            "the original period ended on {due_date}; an extension can no longer be asked for, art. 18",
            due_date=due_date.isoformat())})
    return cleaned


def _check_approval(ctx, cleaned: dict) -> dict:
    """art. 18: an extension must be approved before the original period ends; refusing stays possible.
    Past a provisional end (an unpublished year) ``extend_deadline`` refuses too: the head may wait
    for the year to be published, which tells whether the period has really ended."""
    due_date, end, provisional = original_end(ctx)
    if cleaned["approve"] and ctx.now >= end and provisional:
        raise InvalidForm({"approve": msg(
            "data_review.extension_approval_provisional",
            "the original period provisionally ended on {due_date}; the extension can be approved once the year "
            "is published and the end is known", due_date=due_date.isoformat())})
    if cleaned["approve"] and ctx.now >= end:
        raise InvalidForm({"approve": msg(
            "data_review.extension_approval_too_late",
            "the original period ended on {due_date}; the extension can no longer be approved, only refused",
            due_date=due_date.isoformat())})
    return cleaned


def original_end(ctx) -> tuple[date, datetime, bool]:
    """(last day, end instant, provisional) of the department's review period before any extension
    (art. 18; asked and approved once, so while a request or an approval is open it has not moved).
    A case of a diagram version older than the period model counts it from ``received_on``."""
    rows = periods.case_periods(ctx.uow, ctx.case.id).get("review", []) if ctx.uow is not None else []
    if rows:
        return rows[0].due_date, rows[0].due_at, rows[0].provisional
    original = workdays(ctx, ctx.rules.review_reply_days, ctx.task_data["received_on"])
    return original.due_date, original.instant(), original.provisional


def _check_supervision(ctx, cleaned: dict) -> dict:
    note = cleaned.setdefault("note", "")
    if cleaned["decision"] == "dismiss" and not note:
        raise InvalidForm({"note": msg("data_review.dismissal_needs_reason", "give the reason for dismissing")})
    return cleaned


_TASK_CHECKS = {"verify_answer": _check_answer, "request_extension": _check_request,
                "approve_extension": _check_approval,
                "verify_answer_supervise": _check_supervision,  # tools/diagrams/periods.py escalation
                "approve_extension_supervise": _check_supervision}


# -- diagram functions ------------------------------------------------------------------------

def register_objection(ctx) -> tuple[int, str]:
    """Record the objection of this case (art. 18); return its id and the objector's receipt code."""
    data = ctx.workflow.data
    objection = objections.create_objection(
        ctx.uow, objector_kind=data["objector_kind"], resource_code=data["resource_code"],
        provider_dept_code=data["provider_department"], record_ref=data["record_ref"],
        description=data["description"], actor=ctx.actor, now=ctx.now,
        objector_dept_code=data.get("objector_department"), objector_name=data.get("objector_name", ""),
        contact_phone=data.get("contact_phone", ""), contact_email=data.get("contact_email", ""),
        evidence=data.get("evidence", ""), case_id=ctx.case.id)
    return objection.id, objection.receipt_code


def record_answer(ctx, objection_id: int, outcome: str, answer: str, correction: str) -> str:
    """Write the clerk's answer on the objection, where the objector reads it (art. 18)."""
    objections.answer_objection(ctx.uow, objection_id, outcome, answer, ctx.actor, ctx.now, correction)
    return outcome


def record_extension_request(ctx, objection_id: int, days: int, reason: str) -> int:
    """Note the clerk's one request for more time on the objection (art. 18)."""
    objections.record_extension(ctx.uow, objection_id, days, reason, ctx.actor, ctx.now,
                                ctx.rules.periods.get("review_extension_max_days", objections.MAX_EXTENSION_DAYS))
    return days


def record_extension_decision(ctx, objection_id: int, approved: bool) -> bool:
    """Note the head's decision; an approval moves the deadline in the next step, same transaction."""
    objections.decide_extension(ctx.uow, objection_id, approved, ctx.actor, ctx.now)
    return approved


FUNCTIONS = dict(COMMON)
FUNCTIONS.update(register_objection=register_objection, record_answer=record_answer,
                 record_extension_request=record_extension_request,
                 record_extension_decision=record_extension_decision)

# What the engine may ask of this procedure by name (engine.procedures.provider): the public's
# objection form, receipt and answer (art. 18) are served by the engine's public pages and API.
PROVIDES = {"public_objections": PUBLIC_OBJECTIONS,
            "anonymise_contacts": objections.anonymise_contacts}  # engine.retention
