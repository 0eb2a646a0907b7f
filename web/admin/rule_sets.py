"""Rule sets (规则集): the versions of the statutory period lengths, which one is in force, adding a
version (from a copy of another), activating and deactivating one after a confirmation page that
says what else changes. The rules themselves are the engine's (``engine.rule_admin``): one rule set
active at a time, never nothing in force, running cases keep their version; every change is a verb
of ``engine.verbs.rule_sets``, which checks the administrator's role itself, audited."""
from __future__ import annotations

from datetime import date

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _, lazy_gettext as _l
from engine import rule_admin, rules
from engine.errors import GovflowError, InvalidForm, NotFound
from engine.verbs import rule_sets as verbs

from ..context import actor, govflow
from ..errors import flash_refusal
from ..i18n import localise
from . import bp

TEXT_LENGTH = rule_admin.TEXT_LENGTH
PERIOD_PREFIX = "p."  # a period's form field: p.share_reply_days
PERIOD_LABELS = {
    "catalog_update_days": _l("Update the catalog after a change of law or function (art. 9)"),
    "catalog_report_days": _l("Report the updated catalog to the authority (art. 9)"),
    "share_reply_days": _l("Answer a conditional share application (art. 17)"),
    "review_reply_days": _l("Verify and answer an objection (art. 18)"),
    "review_extension_max_days": _l("Longest extension of an objection review (art. 18)"),
    "negotiation_days": _l("Negotiate an inconsistency before arbitration (art. 19)"),
    "rectify_days": _l("Rectify after the authority's notice, by default (art. 31)"),
    "order_days": _l("Correct after the county government's order, by default (art. 31)"),
    "supplement_days": _l("The applicant supplies missing materials (arts. 14, 16)"),
    "catalog_rework_days": _l("Correct a catalog update the authority returned (art. 9)"),
    "ordered_grant_days": _l("Grant after the authority orders the share (art. 14)"),
    "correction_days": _l("Correct data found wrong in arbitration (arts. 13, 19)"),
    "verify_days": _l("The authority checks a rectification report (art. 31)"),
    "rework_days": _l("Rework a report the authority did not accept (art. 31)"),
    "authority_decide_days": _l("The authority reviews or decides (arts. 9, 14, 19, 31)"),
    "notice_days": _l("The authority issues the rectification notice (art. 31)"),
    "grant_expiry_notice_days": _l("Tell the consumer before a grant expires (art. 14)"),
    "reminder_days_before": _l("Reminder, working days before a period ends"),
}


def period_label(key: str) -> str:
    return str(PERIOD_LABELS.get(key, key))


@bp.get("/rule-sets")
def rule_sets():
    """Every version, the one in force today first in mind: the list with activate/deactivate."""
    engine = govflow()
    found = rule_admin.versions(engine)
    current = next((v for v in found if v.in_force), None)
    return render_template("admin/rule_sets.html", versions=found, current=current, today=rule_admin.today(engine),
                           active_names=sorted({v.name for v in found if v.active}))


@bp.get("/rule-sets/<code>")
def rule_set(code: str):
    """The versions of one rule set (``code``: its name, e.g. huaining-2021) side by side, period by
    period. (``code``, like the other pages' arguments, so that the route tests' samples fit it.)"""
    name = code
    found = rule_admin.versions(govflow(), name)  # NotFound: the 404 page
    keys = [k for k, _days in found[-1].ordered_periods()]
    keys += sorted({k for v in found for k in v.periods} - set(keys))
    return render_template("admin/rule_set.html", name=name, versions=found, keys=keys, label=period_label)


@bp.route("/rule-sets/new", methods=("GET", "POST"))
def new_rule_set():
    """Add a version: name, effective date, title, the document, every period (from a copy)."""
    engine = govflow()
    if request.method == "GET":
        try:
            found = rule_admin.version_form(engine, request.args.get("from", "").strip()[:120], default_in_force=True)
        except NotFound as exc:
            flash_refusal(exc)
            return redirect(url_for("admin.rule_sets"))
        base = found.base
        values = {"name": base.name, "effective_from": "", "title": "", "document": "", "from": base.key,
                  "activate": "", **{PERIOD_PREFIX + k: str(v) for k, v in base.periods.items()}}
        return _render(values, {}, found)
    form = request.form
    values = {k: form.get(k, "")[:TEXT_LENGTH + 100] for k in ("name", "effective_from", "title", "document",
                                                                 "from", "activate")}
    values.update({k: form.get(k, "")[:20] for k in form if k.startswith(PERIOD_PREFIX)})
    periods: dict[str, object] = {}
    for field, text in values.items():
        if field.startswith(PERIOD_PREFIX):  # the engine refuses what is not a whole number
            number = text.strip()  # ASCII digits only: int() refuses "²", which isdigit() accepts
            periods[field[len(PERIOD_PREFIX):]] = int(number) if number.isascii() and number.isdigit() else number
    try:
        added = verbs.add(engine, actor(), values["name"], effective_from=_date(values["effective_from"]),
                          title=values["title"], document=values["document"], periods=periods,
                          source=values["from"] or None, activate=values["activate"] == "yes")
    except InvalidForm as exc:
        errors = {_field(k, values): localise(v) for k, v in exc.errors.items()}
        return _form(values, errors, 422)
    except GovflowError as exc:  # activating it was refused: nothing was added
        flash_refusal(exc)
        return _form(values, {}, 409)
    if added.active:
        flash(_("%(key)s added and activated.", key=added.key), "success")
    else:
        flash(_("%(key)s added. It is not active: activate it to put it in force.", key=added.key), "success")
    return redirect(url_for("admin.rule_set", code=added.name))


@bp.post("/rule-sets/activate")
def activate_rule_set():
    return _confirm_and_change("activate")


@bp.post("/rule-sets/deactivate")
def deactivate_rule_set():
    return _confirm_and_change("deactivate")


def _confirm_and_change(action: str):
    """Without ``confirmed=yes``: the page that says what the change does (or why it is refused);
    with it: the change, audited."""
    engine, key = govflow(), request.form.get("key", "").strip()[:120]
    try:
        found = rule_admin.confirmation(engine, key, action)
        change = found.change
        if request.form.get("confirmed") != "yes" or change.refusal:
            return render_template("admin/rule_set_confirm.html", change=change, version=found.version,
                                   refusal=localise(change.refusal) if change.refusal else None)
        change = (verbs.activate if action == "activate" else verbs.deactivate)(engine, actor(), key)
    except GovflowError as exc:
        flash_refusal(exc)
        return redirect(url_for("admin.rule_sets"))
    if action == "activate":
        flash(_("%(key)s activated; in force today: %(current)s.", key=change.key, current=change.in_force_after),
              "success")
    else:
        flash(_("%(key)s deactivated; in force today: %(current)s.", key=change.key, current=change.in_force_after),
              "success")
    return redirect(url_for("admin.rule_sets"))


def _form(values: dict, errors: dict, status: int):
    """The form again after a refusal (copying the version it named, if that still exists)."""
    try:
        found = rule_admin.version_form(govflow(), values["from"])
    except NotFound:
        found = rule_admin.version_form(govflow(), None)
    return _render(values, errors, found, status)


def _render(values: dict, errors: dict, found: rule_admin.VersionForm, status: int = 200):
    if errors:
        flash(_("Please correct the marked fields."), "error")
    base = found.base
    keys = [k for k, _days in base.ordered_periods()] if base is not None else [
        *rules.REQUIRED_PERIODS, *rules.OPTIONAL_PERIODS]
    keys += sorted(k[len(PERIOD_PREFIX):] for k in values if k.startswith(PERIOD_PREFIX)
                   and k[len(PERIOD_PREFIX):] not in keys)
    return render_template("admin/rule_set_new.html", values=values, errors=errors, base=base,
                           periods=[(k, PERIOD_PREFIX + k, period_label(k)) for k in keys], versions=found.versions,
                           names=sorted({v.name for v in found.versions}), max_days=rules.MAX_DAYS,
                           length=TEXT_LENGTH), status


def _field(key: str, values: dict) -> str:
    """The form field an engine error key belongs to (``source`` is the copy's ``from``)."""
    key = {"source": "from"}.get(key, key)
    return key if key in values else PERIOD_PREFIX + key


def _date(text: str) -> date | None:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        return None
