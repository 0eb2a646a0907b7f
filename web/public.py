"""The ``public`` blueprint: anyone, without an account, raises an objection to a data record (复核,
art. 18) and follows it with the receipt code it gets once.

No log-in, but CSRF on every form; a small request body; a rate limit per client address on
submissions and on lookups (``engine.domain.throttle``). A lookup shows the objection's status and
answer, never anyone's contact details.
"""
from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, make_response, redirect, render_template, request, session, url_for
from flask_babel import gettext as _, lazy_gettext as _l
from werkzeug.exceptions import RequestEntityTooLarge

from engine import rule_admin
from engine.definitions import latest
from engine.domain import catalog, objections, throttle
from engine.errors import GovflowError, InvalidForm, NotFound
from engine.models import HumanTask
from engine.service import option_pairs
from engine.uow import Actor

from . import csrf, forms
from .context import client_ip, govflow
from .i18n import localise

bp = Blueprint("public", __name__, url_prefix="/public")
PROCESS = "data_review"  # art. 18: the objection review procedure
MAX_BODY = 128 * 1024  # the longest fields are 5,000 characters, URL-encoded
KINDS = ("natural_person", "legal_person", "other_organisation")  # a department objects after logging in
RECEIPT_KEY = "objection_receipt"
ANSWER_TASK = "verify_answer"  # the task of data_review whose due date the objector is told
LABELS = {
    "objector_kind": _l("You are"), "objector_name": _l("Name of the person or organisation"),
    "contact_phone": _l("Phone"), "contact_email": _l("E-mail"), "resource": _l("Data resource"),
    "record_ref": _l("The data record in doubt"), "description": _l("What is wrong"),
    "evidence": _l("Evidence (describe the supporting documents)"),
}
KIND_LABELS = {"natural_person": _l("A natural person"), "legal_person": _l("A legal person"),
               "other_organisation": _l("Another organisation")}
STATUSES = {"received": _l("Received: the provider department is verifying the record"), "answered": _l("Answered")}
OUTCOMES = {"corrected": _l("The record was corrected"), "confirmed": _l("The record was verified as correct")}


def public_actor(kind: str) -> Actor:
    """Who the audit trail names for an objection from the public: the kind of objector, no person."""
    return Actor(f"public:{kind if kind in KINDS else 'unknown'}")


@bp.route("/objection", methods=("GET", "POST"))
@csrf.exempt  # checked in the view, after the body limit is set
def objection():
    """The objection form; a valid one starts the objection review and shows the receipt code once."""
    _require_procedure()
    if request.method == "GET":
        return _render_form({}, {})
    _protect()
    fields = _fields()
    values, kind = forms.entered(fields, request.form), request.form.get("objector_kind", "")
    engine = govflow()
    try:
        _limit("objection_form", count=True)
        _limit("objection")
        case_id = engine.start_case(PROCESS, public_actor(kind), forms.parse(fields, request.form))
    except throttle.TooManyRequests as exc:
        return _render_form(values, {}, 429, localise(str(exc)), exc.retry_after)
    except InvalidForm as exc:
        return _render_form(values, exc.errors, 422, _("Please correct the marked fields."))
    except GovflowError as exc:
        return _render_form(values, {}, 409, localise(str(exc)))
    _limit("objection", count=True, check=False)
    with engine.uow() as uow:
        session[RECEIPT_KEY] = uow.session.scalar(sa.select(objections.Objection.receipt_code).where(
            objections.Objection.case_id == case_id))
    return redirect(url_for("public.receipt"))


@bp.get("/objection/receipt")
def receipt():
    """The receipt code, shown once: a reload shows where to look the objection up instead."""
    response = make_response(render_template("public/receipt.html", code=session.pop(RECEIPT_KEY, None)))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/objection/status", methods=("GET", "POST"))
@csrf.exempt  # checked in the view, after the body limit is set
def status():
    """Look an objection up by its receipt code: status, due date, answer."""
    if request.method == "GET":
        return _status_page(None, "", None)
    _protect()
    code = request.form.get("code", "").strip()[:40]
    try:
        _limit("lookup", count=True)
    except throttle.TooManyRequests as exc:
        return _status_page(None, code, localise(str(exc)), 429, exc.retry_after)
    with govflow().uow() as uow:
        try:
            found = objections.objection_by_receipt(uow.session, code)
        except NotFound as exc:
            return _status_page(None, code, localise(str(exc)), 404)
        return _status_page(_summary(uow.session, found), "", None)


@bp.errorhandler(RequestEntityTooLarge)
def too_large(exc):
    return render_template("errors/error.html", status=413, title=_("Too much data"),
                           message=_("The form is too long. Please shorten the texts and try again.")), 413


def _protect() -> None:
    """A small body for everything the public sends, then the CSRF check (which reads the form)."""
    request.max_content_length = MAX_BODY
    csrf.protect()


def _limit(kind: str, count: bool = False, check: bool = True) -> None:
    """Refuse once this address's window for ``kind`` is full; optionally count this request."""
    engine = govflow()
    with engine.uow() as uow:
        if check:
            throttle.check(uow.session, kind, client_ip(), engine.clock.now())
        if count:
            throttle.record(uow.session, kind, client_ip(), engine.clock.now())
            uow.commit()


def _require_procedure() -> None:
    with govflow().uow() as uow:
        if latest(uow.session, PROCESS) is None or PROCESS not in govflow().procedures:
            abort(404)


def _fields():
    fields, _options = govflow().start_form(PROCESS, public_actor(""))
    return fields


def _render_form(values: dict, errors: dict, status: int = 200, message: str | None = None, retry=None):
    fields, options = govflow().start_form(PROCESS, public_actor(""))
    widgets = {w.field.id: w for w in forms.widgets(fields, values, option_pairs(options), errors)}
    response = make_response(render_template(
        "public/objection.html", widgets=widgets, labels=LABELS,
        kinds=[(k, KIND_LABELS[k]) for k in KINDS], message=message, reply_days=_reply_days()), status)
    if retry is not None:
        response.headers["Retry-After"] = str(int(retry.total_seconds()))
    return response


def _reply_days() -> int | None:
    """The art. 18 period the objector is promised: ``review_reply_days`` of the rule set in force
    today (None when none is: the page then names the article only)."""
    try:
        return rule_admin.period_in_force(govflow(), "review_reply_days")
    except NotFound:
        return None


def _status_page(summary, code: str, message: str | None, status: int = 200, retry=None):
    response = make_response(render_template("public/status.html", summary=summary, code=code, message=message,
                                             statuses=STATUSES, outcomes=OUTCOMES), status)
    response.headers["Cache-Control"] = "no-store"
    if retry is not None:
        response.headers["Retry-After"] = str(int(retry.total_seconds()))
    return response


def _summary(db, found: objections.Objection) -> dict:
    """What the objector may read: no names, no contact details, no staff logins."""
    try:
        resource = catalog.get_resource(db, found.resource_code, include_retired=True).name
    except NotFound:
        resource = ""
    task = db.scalars(sa.select(HumanTask).where(HumanTask.case_id == found.case_id,
                                                 HumanTask.element_id == ANSWER_TASK,
                                                 HumanTask.state == "ready")).first() if found.case_id else None
    return {"receipt_code": found.receipt_code, "received_at": found.received_at, "status": found.status,
            "resource_code": found.resource_code, "resource_name": resource, "provider": found.provider.name,
            "record_ref": found.record_ref, "due_date": task.due_date if task else None,
            "provisional": bool(task and task.provisional), "extension_days": found.extension_days,
            "extension_approved": found.extension_approved, "outcome": found.outcome, "answer": found.answer,
            "correction": found.correction, "answered_at": found.answered_at}
