"""The ``public`` blueprint: anyone, without an account, raises an objection to a data record (复核,
art. 18) and follows it with the receipt code it gets once.

No log-in, but CSRF on every form; a small request body; a rate limit per client address on
submissions and on lookups (``engine.verbs.objections``). A lookup shows the objection's status and
answer, never anyone's contact details.
"""
from __future__ import annotations

from flask import Blueprint, abort, make_response, redirect, render_template, request, session, url_for
from flask_babel import gettext as _, lazy_gettext as _l
from werkzeug.exceptions import RequestEntityTooLarge

from engine.errors import GovflowError, InvalidForm, NotFound
from engine.verbs import objections
from engine.views import public as views

from . import csrf, forms
from .context import client_ip, govflow
from .i18n import localise

bp = Blueprint("public", __name__, url_prefix="/public")
MAX_BODY = 128 * 1024  # the longest fields are 5,000 characters, URL-encoded
KINDS = views.PUBLIC_KINDS  # a department objects after logging in
RECEIPT_KEY = "objection_receipt"
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


@bp.route("/objection", methods=("GET", "POST"))
@csrf.exempt  # checked in the view, after the body limit is set
def objection():
    """The objection form; a valid one starts the objection review and shows the receipt code once."""
    form = _form()
    if request.method == "GET":
        return _render_form(form, {}, {})
    _protect()
    values, kind = forms.entered(form.fields, request.form), request.form.get("objector_kind", "")
    try:
        received = objections.submit_objection(govflow(), views.public_actor(kind), client_ip(),
                                               forms.parse(form.fields, request.form))
    except objections.TooManyRequests as exc:
        return _render_form(form, values, {}, 429, localise(str(exc)), exc.retry_after)
    except InvalidForm as exc:
        return _render_form(form, values, exc.errors, 422, _("Please correct the marked fields."))
    except GovflowError as exc:
        return _render_form(form, values, {}, 409, localise(str(exc)))
    session[RECEIPT_KEY] = received.receipt_code
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
        found = objections.look_up_objection(govflow(), client_ip(), code)
    except objections.TooManyRequests as exc:
        return _status_page(None, code, localise(str(exc)), 429, exc.retry_after)
    except NotFound as exc:
        return _status_page(None, code, localise(str(exc)), 404)
    return _status_page(found, "", None)


@bp.errorhandler(RequestEntityTooLarge)
def too_large(exc):
    return render_template("errors/error.html", status=413, title=_("Too much data"),
                           message=_("The form is too long. Please shorten the texts and try again.")), 413


def _protect() -> None:
    """A small body for everything the public sends, then the CSRF check (which reads the form)."""
    request.max_content_length = MAX_BODY
    csrf.protect()


def _form() -> views.ObjectionForm:
    """The objection form (404 while the procedure is not deployed)."""
    try:
        return views.objection_form(govflow())
    except views.NotDeployed:
        abort(404)


def _render_form(form: views.ObjectionForm, values: dict, errors: dict, status: int = 200,
                 message: str | None = None, retry=None):
    """The form; ``form.reply_days`` is the art. 18 period the objector is promised (None: the page
    names the article only)."""
    widgets = {w.field.id: w for w in forms.widgets(form.fields, values, form.options, errors)}
    response = make_response(render_template(
        "public/objection.html", widgets=widgets, labels=LABELS,
        kinds=[(k, KIND_LABELS[k]) for k in KINDS], message=message, reply_days=form.reply_days), status)
    if retry is not None:
        response.headers["Retry-After"] = str(int(retry.total_seconds()))
    return response


def _status_page(summary, code: str, message: str | None, status: int = 200, retry=None):
    response = make_response(render_template("public/status.html", summary=summary, code=code, message=message,
                                             statuses=STATUSES, outcomes=OUTCOMES), status)
    response.headers["Cache-Control"] = "no-store"
    if retry is not None:
        response.headers["Retry-After"] = str(int(retry.total_seconds()))
    return response

