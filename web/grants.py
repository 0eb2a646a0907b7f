"""The ``grants`` blueprint (授权, art. 14): my department's grants, held as the consumer or given as
the provider (the data authority sees every one), a grant's page with its status and, once revoked,
who revoked it, when, why and on what basis; the 撤销授权 form for the provider department's clerks
and head and the authority; the 申请续期 link for the consumer's clerks, which opens the share
application's start form pre-filled from the grant (``/start/share_application?renew=<id>``)."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _, lazy_gettext as _l

from engine import grant_service
from engine.errors import GovflowError, InvalidForm, PermissionDenied
from engine.views import modeler as views

from . import forms
from .context import actor, govflow
from .errors import flash_refusal
from .i18n import localise
from .inputs import whole_number
from .inputs import page_arg

bp = Blueprint("grants", __name__, url_prefix="/grants")
PER_PAGE = 20
SIDE_LABELS = {"consumer": _l("Held by my department"), "provider": _l("Given by my department"),
               "all": _l("All grants of the county")}
STATUS_LABELS = {"active": _l("In force"), "expired": _l("Expired"), "revoked": _l("Revoked")}


@bp.app_template_global("grant_status_label")
def grant_status_label(status: str) -> str:
    return str(STATUS_LABELS.get(status, status))


@bp.get("/")
def index():
    """My department's grants (the authority: every grant too), newest first, by status."""
    engine, who = govflow(), actor()
    sides = ["consumer", "provider"] + (["all"] if who.roles & grant_service.READERS else [])
    side = request.args.get("side") or ("all" if "all" in sides and not _has_department_roles(who) else "consumer")
    if side not in sides:
        abort(404)
    status = request.args.get("status") or None
    if status not in (None, *grant_service.GRANT_STATUSES):
        status = None
    page = page_arg()
    listing = grant_service.list_grants(engine, who, side, status, page, PER_PAGE)
    return render_template("grants/index.html", listing=listing, sides=sides, side_labels=SIDE_LABELS,
                           status=status, statuses=list(grant_service.GRANT_STATUSES))


def _has_department_roles(who) -> bool:
    return bool(who.roles & (grant_service.PROVIDER_REVOKERS | grant_service.RENEWERS))


@bp.get("/<int:grant_id>")
def show(grant_id: int, values: dict | None = None, errors: dict | None = None, status: int = 200):
    """A grant's page: its terms and status; revoked: who, when, reason, basis; the revoke form
    (provider, authority) and the renew link (consumer)."""
    engine = govflow()
    detail = grant_service.read_grant(engine, grant_id, actor())
    try:
        renew_with = grant_service.renewal_process(engine) if detail.may_renew else None
    except views.NotDeployed:
        renew_with = None
    return render_template("grants/show.html", d=detail, g=detail.grant, values=values or {},
                           errors=errors or {}, renew_with=renew_with), status


@bp.post("/<int:grant_id>/revoke")
def revoke(grant_id: int):
    """撤销授权: reason, basis and an explicit confirmation; the consumer's clerks are notified."""
    engine, who = govflow(), actor()
    values = {"reason": request.form.get("reason", ""), "basis": request.form.get("basis", "")}
    if request.form.get("confirm") != "yes":
        return show(grant_id, values, {"confirm": _("Tick the box to confirm the revocation.")}, 422)
    try:
        grant = grant_service.revoke_grant(engine, grant_id, who, values["reason"], values["basis"])
    except InvalidForm as exc:
        flash(_("Please correct the marked fields."), "error")
        return show(grant_id, values, {k: localise(v) for k, v in exc.errors.items()}, 422)
    except PermissionDenied:
        raise
    except GovflowError as exc:  # already revoked or expired meanwhile
        flash_refusal(exc)
        return redirect(url_for("grants.show", grant_id=grant_id))
    flash(_("Grant #%(id)s revoked; the consumer department has been notified.", id=grant.id), "success")
    return redirect(url_for("grants.show", grant_id=grant_id))


@bp.get("/of-case/<int:case_id>")
def of_case(case_id: int):
    """Where a grant notification leads: the grant of that case, if I may read it."""
    grant_id = grant_service.grant_of_case(govflow(), case_id, actor())
    return redirect(url_for("grants.show", grant_id=grant_id) if grant_id else url_for("grants.index"))


@bp.before_app_request
def renewal_start_form():
    """``/start/share_application?renew=<grant_id>``: the share application's start page, pre-filled
    from the grant; it answers in front of ``start.form`` (after the log-in and CSRF checks), which
    serves the form without ``renew`` as ever."""
    renew = request.args.get("renew")
    if request.endpoint != "start.form" or renew is None:
        return None
    try:
        renewable = grant_service.renewal_process(govflow())
    except views.NotDeployed:
        return None
    return renew_start(renew) if (request.view_args or {}).get("process_id") == renewable else None


def renew_start(renew: str):
    """GET: the start form pre-filled from grant ``renew``; POST: start the renewing case."""
    engine, who = govflow(), actor()
    grant_id = whole_number(renew)
    if grant_id is None:
        abort(404)
    try:
        if request.method == "GET":
            renewal = grant_service.renewal_start_form(engine, grant_id, who)
            return _render_renewal(renewal.form, renewal.values, {}, grant_id)
        start = views.start_form(engine, grant_service.renewal_process(engine), who)
    except views.NotDeployed:
        abort(404)
    try:
        case_id = grant_service.start_renewal(engine, grant_id, who, forms.parse(start.fields, request.form))
    except InvalidForm as exc:
        flash(_("Please correct the marked fields."), "error")
        return _render_renewal(start, forms.entered(start.fields, request.form), exc.errors, grant_id, 422)
    except PermissionDenied:
        raise
    except GovflowError as exc:
        flash_refusal(exc)
        return redirect(url_for("grants.show", grant_id=grant_id))
    started = views.started(engine, case_id, who)
    flash(_("Case %(number)s started.", number=started.number), "success")
    return redirect(url_for("tasks.show", task_id=started.task_id) if started.task_id
                    else url_for("tasks.case", case_id=case_id))


def _render_renewal(start: views.StartForm, values, errors, grant_id: int, status: int = 200):
    widgets = forms.widgets(start.fields, values, start.options, errors)
    return render_template("grants/renew.html", definition=start.definition, widgets=widgets, grant_id=grant_id,
                           other_errors=forms.form_errors(start.fields, errors)), status
