"""Procedure ``share_application`` — 共享申请 (arts. 14, 15, 16, 17; docs/procedures.md section 2).

A consumer clerk applies for one published resource of another department. 无条件共享 is granted at
once (art. 17); 有条件共享 goes to the provider's review within ``share_reply_days``; 不予共享 gets
the provider's explanation within the same period. A refusal needs a reason and a basis (art. 14);
after one the consumer may ask the authority to coordinate (art. 14 para. 3). A grant expires at
24:00 of its last day.

Statutory periods (``PERIODS`` below; docs/deadlines/share_application.md has the table). The
provider may ask once for missing materials (补正): the provider's period stops (its timers are gone,
so the period closes) and the applicant's ``supplement`` period runs; the complete materials start a
fresh ``share_reply_days`` from their receipt (a new period, never overdue on entry, so nobody is
escalated for the applicant's delay); an applicant silent past ``supplement_days`` has withdrawn.

Every human step has a period: the provider's review, explanation and ordered grant, the
applicant's supplement and its answer to a refusal, the authority's coordination and its 督办
decisions. Deliberate choices:

* ``after_refusal`` (accept the refusal or ask for coordination) is timed although the regulation
  sets no period for it (design): a window of ``supplement_days`` from the refusal, after which the
  refusal stands and the case ends ``refused``, so no case waits forever in the applicant's inbox;
  asking for coordination is the applicant's right, not a duty, so nobody is escalated for it;
* the optional 数长 sign-off of docs/procedures.md is not part of this diagram (no dept_head step), so it
  needs no period;
* the grant's own period of use (``wait_grant_end``) is a term of the grant, not a party's obligation.
"""
from __future__ import annotations

from datetime import date, datetime

from engine import memo
from engine.calendar import period_end
from engine.domain import catalog, grants, org
from engine.domain.record_checks import beijing_today, load, record_audit, require_status
from engine.errors import InvalidForm, NotFound
from engine.forms import FormField
from engine.messages import msg
from engine.periods import PeriodSpec
from engine.uow import Actor

from ..common import FUNCTIONS as COMMON
from ..common import dismissal_needs_reason, joined
from . import records

START_ROLES = {"consumer_clerk"}
PLATFORM = Actor.system("share_platform")  # the county data centre grants 无条件共享 itself (art. 17)
GRANT = msg("label.grant", "grant")
UNCONDITIONAL_BASIS = "《怀宁县政务数据资源管理暂行办法》第十七条：无条件共享，直接获取"
APPROVAL_BASIS = "《怀宁县政务数据资源管理暂行办法》第十七条：有条件共享，提供部门授权"
ORDERED_BASIS = "县政府政务数据资源主管部门协调意见（第十四条第三款）"
SUPPLEMENT_LAPSED = Actor.system("supplement_lapsed")  # the applicant's silence withdraws (arts. 14, 16)

# The statutory periods the diagram watches (engine/periods.py; docs/deadlines/share_application.md).
PERIODS = {
    # art. 17: authorise a conditional share within 5 working days of receipt; after 补正, afresh from
    # the receipt of the complete materials (docs/procedures.md, after 行政许可法 art. 32). Late: 督办, art. 31
    # item 3 (拒绝政务数据共享).
    "review": PeriodSpec("share_reply_days", "department", "17", "审核共享申请并答复", item=3),
    # art. 17: explain a 不予共享 resource within 5 working days of receipt.
    "explanation": PeriodSpec("share_reply_days", "department", "17", "说明不予共享的理由和依据", item=3),
    # arts. 14, 16 (design): the applicant supplies the materials asked for; silence past it withdraws.
    "supplement": PeriodSpec("supplement_days", "applicant", "14, 16", "补充共享申请材料"),
    # art. 14 para. 3 (design): the window to accept a refusal or ask for coordination, the same length
    # as the supplement (the applicant's answer to the provider); past it the refusal stands.
    "coordination_request": PeriodSpec("supplement_days", "applicant", "14 ¶3", "接受不予共享或申请统筹协调"),
    # art. 14 para. 3 (design): the authority coordinates; reminded and marked late, no 督办.
    "coordinate": PeriodSpec("authority_decide_days", "authority", "14 ¶3", "统筹协调共享争议"),
    # art. 14 para. 3 (design): the provider grants the share the authority ordered. Late: 督办, item 3.
    "ordered_grant": PeriodSpec("ordered_grant_days", "department", "14 ¶3", "按协调意见授权", item=3),
    # art. 31 (design): the authority decides on each 督办 (reminded, marked late).
    "review_supervise": PeriodSpec("authority_decide_days", "authority", "31", "督办决定"),
    "explanation_supervise": PeriodSpec("authority_decide_days", "authority", "31", "督办决定"),
    "ordered_grant_supervise": PeriodSpec("authority_decide_days", "authority", "31", "督办决定"),
}

REQUIRED = {"required": None}
START_FORM = [
    FormField("resource", "申请的数据资源", "enum", validation=REQUIRED, properties={"options": "dynamic"}),
    FormField("scenario", "应用场景（第十四条）", "textarea", validation={**REQUIRED, "maxlength": "2000"}),
    FormField("data_items", "申请的数据项（每行一项）", "textarea", validation=REQUIRED),
    FormField("period_from", "使用期限起始日", "date", validation=REQUIRED),
    FormField("period_until", "使用期限截止日", "date", validation=REQUIRED),
    FormField("materials", "提供的申请材料（每行一项，第十六条）", "textarea"),
]


def _lines(text) -> list[str]:
    """The distinct non-blank lines of a textarea (or the items of a list already split)."""
    lines = text if isinstance(text, (list, tuple)) else (text or "").splitlines()
    return list(dict.fromkeys(str(line).strip() for line in lines if str(line).strip()))


# -- start -----------------------------------------------------------------------------------

def form_options(ctx, element_id: str, data: dict) -> dict:
    """The start form offers the published resources of every department but the applicant's own.

    Checking a submitted form (``data`` names a resource) looks up that one resource only.
    """
    if element_id != "__start__":
        return {}
    chosen = data.get("resource")
    if isinstance(chosen, str) and chosen:
        entry = _resource(ctx, chosen)
        entries = [entry] if entry is not None else []
    else:
        entries = catalog.published_catalog(ctx.session)
    return {"resource": [(e.code, f"{e.name}（{e.department.name}，{catalog.label_of('share_type', e.share_type)}）")
                         for e in entries if e.department.code != ctx.actor.department]}


def _resource(ctx, code: str):
    """The live resource with this code, or None (looked up once while a start form is checked)."""
    def find():
        try:
            return catalog.get_resource(ctx.session, code)
        except NotFound:
            return None
    return memo.remember(ctx.session, ("share_application.resource", code), find)


def check_start(ctx, cleaned: dict) -> dict:
    """Check the application against the resource's registration (arts. 14, 16) and record who and when."""
    entry = _resource(ctx, cleaned["resource"])
    if entry is None:
        raise InvalidForm({"resource": msg("share_application.no_such_resource",
                                           "no published resource with the code {resource_code}",
                                           resource_code=cleaned["resource"])})
    items, materials = _lines(cleaned["data_items"]), _lines(cleaned.get("materials"))
    received = ctx.services.receipt_date(ctx.session, ctx.now)
    errors = {**_item_errors(entry, items), **_material_errors(entry, materials),
              **_period_errors(cleaned["period_from"], cleaned["period_until"], received)}
    if errors:
        raise InvalidForm(errors)
    return {**cleaned, "data_items": items, "materials": materials, "resource_code": entry.code,
            "resource_name": entry.name, "share_type": entry.share_type,
            "provider_department": entry.department.code, "provider_department_name": entry.department.name,
            "consumer_department": ctx.actor.department,
            "consumer_department_name": org.department_by_code(ctx.session, ctx.actor.department).name,
            "received_on": received.isoformat()}


def _item_errors(entry, items: list[str]) -> dict:
    unknown = [i for i in items if i not in {d["name"] for d in entry.data_items}]
    if unknown:
        return {"data_items": msg("share_application.unknown_data_items",
                                  "the resource {resource_code} has no data items {items}",
                                  resource_code=entry.code,
                                  **joined("items", unknown))}
    return {}


def _material_errors(entry, materials: list[str]) -> dict:
    """Every material the registration lists must be among those provided (art. 16); a line covers
    a material when it names it (``共享申请表（盖章）`` covers ``共享申请表``)."""
    missing = [m for m in entry.materials if not any(m in given for given in materials)]
    if missing:
        return {"materials": msg("share_application.materials_missing", "materials missing: {materials}",
                                 **joined("materials", missing))}
    return {}


def _period_errors(first: str, last: str, received: date) -> dict:
    if last < first:
        return {"period_until": _period_reversed()}
    if date.fromisoformat(last) < received:
        return {"period_until": msg("share_application.period_ended", "the period of use has already ended")}
    return {}


def title(data: dict) -> str:
    return f"共享申请：{data.get('resource_name', '')}（{data.get('consumer_department_name', '')}）"


# -- task forms ------------------------------------------------------------------------------

def check_task(ctx, element_id: str, cleaned: dict) -> dict:
    """Rules across the fields of one task form."""
    check = TASK_CHECKS.get(element_id)
    return check(ctx.task_data or {}, cleaned) if check else cleaned


def _check_review(data: dict, cleaned: dict) -> dict:
    decision = cleaned["decision"]
    if decision == "approve":
        return _grant_terms(data, cleaned, APPROVAL_BASIS)
    if decision == "refuse":  # art. 14: no refusal without a reason and a legal or policy basis
        _require(cleaned, {"reason": msg("share_application.label.refusal_reason", "the reason for refusing"),
                           "basis": msg("share_application.label.refusal_basis",
                                     "the legal, statutory or policy basis for refusing")})
        return cleaned
    if data.get("supplemented_on"):
        raise InvalidForm({"decision": msg("share_application.supplement_once",
                                           "materials can be requested only once")})
    _require(cleaned, {"reason": msg("share_application.label.materials_wanted", "which materials are missing")})
    return cleaned


def _check_ordered_grant(data: dict, cleaned: dict) -> dict:
    return _grant_terms(data, cleaned, ORDERED_BASIS)


def _grant_terms(data: dict, cleaned: dict, basis: str) -> dict:
    """An approval narrows the items and period applied for, never widens them."""
    items = _lines(cleaned.get("granted_items")) or list(data["data_items"])
    first = cleaned.get("valid_from") or data["period_from"]
    last = cleaned.get("valid_until") or data["period_until"]
    errors = {}
    extra = [i for i in items if i not in data["data_items"]]
    if extra:
        errors["granted_items"] = records.items_not_applied_for(extra)
    if first < data["period_from"] or last > data["period_until"]:
        errors["valid_until"] = msg("share_application.grant_outside_period",
                                    "the grant's period lies within the period applied for, {period_from} to "
                                    "{period_until}", period_from=data["period_from"],
                                    period_until=data["period_until"])
    elif last < first:
        errors["valid_until"] = _period_reversed()
    if errors:
        raise InvalidForm(errors)
    return {**cleaned, "granted_items": items, "valid_from": first, "valid_until": last,
            "usage_limits": cleaned.get("usage_limits", ""), "basis": cleaned.get("basis") or basis}


def _check_supplement(data: dict, cleaned: dict) -> dict:
    if cleaned["supplement_action"] == "supplement":
        _require(cleaned, {"materials": msg("share_application.label.materials_supplied", "the materials supplied")})
        cleaned["materials"] = _lines(cleaned["materials"])
    return cleaned


def _check_after_refusal(data: dict, cleaned: dict) -> dict:
    if cleaned["next_step"] == "coordinate":
        _require(cleaned, {"coordination_request": msg("share_application.label.coordination_reason",
                                                       "why coordination is needed")})
    return cleaned


def _period_reversed():
    return msg("share_application.period_reversed", "the last day cannot be before the first day")


def _require(cleaned: dict, fields: dict) -> None:
    missing = {f: msg("share_application.required", "{what}: required", what=what)
               for f, what in fields.items() if not cleaned.get(f)}
    if missing:
        raise InvalidForm(missing)


def _check_supervision(data: dict, cleaned: dict) -> dict:
    if cleaned["decision"] == "dismiss" and not cleaned.get("note"):
        raise InvalidForm({"note": dismissal_needs_reason()})
    return cleaned


TASK_CHECKS = {"provider_review": _check_review, "grant_ordered": _check_ordered_grant,
               "supplement_materials": _check_supplement, "after_refusal": _check_after_refusal,
               "provider_review_supervise": _check_supervision,
               "provider_explanation_supervise": _check_supervision,
               "grant_ordered_supervise": _check_supervision}


# -- diagram functions -----------------------------------------------------------------------

def register_application(ctx, resource_code, consumer, provider, data_items, scenario, period_from,
                         period_until, materials) -> int:
    """Record the application (art. 17) with its scenario (art. 14) and materials (art. 16)."""
    return records.create_share_application(
        ctx.uow, consumer_dept_code=consumer, resource_code=resource_code, provider_dept_code=provider,
        data_items=list(data_items), scenario=scenario, period_from=period_from, period_until=period_until,
        materials=list(materials), actor=ctx.actor, now=ctx.now, case_id=ctx.case.id).id


def grant_unconditional(ctx, application_id: int) -> int:
    """无条件共享: the platform grants the items and period applied for, no human step (art. 17)."""
    application = records.decide_share_application(ctx.uow, application_id, "approve", PLATFORM, ctx.now,
                                                    basis=UNCONDITIONAL_BASIS)
    return application.grant.id


def approve_application(ctx, application_id: int, items, valid_from, valid_until, usage_limits, basis) -> int:
    """The provider's authorisation (art. 17), also after the authority ordered the share (art. 14)."""
    application = records.decide_share_application(
        ctx.uow, application_id, "approve", ctx.actor, ctx.now, basis=basis, valid_from=valid_from,
        valid_until=valid_until, usage_limits=usage_limits, data_items=list(items))
    return application.grant.id


def refuse_application(ctx, application_id: int, reason: str, basis: str) -> bool:
    """A refusal, or the explanation of a 不予共享 resource, with its reason and basis (arts. 14, 17)."""
    records.decide_share_application(ctx.uow, application_id, "refuse", ctx.actor, ctx.now,
                                     reason=reason, basis=basis)
    return True


def supplement_materials(ctx, application_id: int, materials) -> str:
    """The consumer supplies the materials the provider asked for; the provider's ``share_reply_days``
    start afresh from their receipt (the diagram re-enters the review: a new period)."""
    application = load(ctx.session, records.ShareApplication, application_id, records.SHARE_APPLICATION)
    require_status(application, ["submitted"], records.SHARE_APPLICATION)
    application.materials = list(dict.fromkeys([*application.materials, *materials]))
    record_audit(ctx.uow, ctx.actor, ctx.now, "share_application_supplemented", ctx.case.id,
                 {"application_id": application.id, "materials": list(materials)})
    return beijing_today(ctx.now).isoformat()


def withdraw_application(ctx, application_id: int) -> bool:
    records.withdraw_share_application(ctx.uow, application_id, ctx.actor, ctx.now)
    return True


def withdraw_for_silence(ctx, application_id: int) -> bool:
    """The applicant let ``supplement_days`` pass without the materials: the application is
    withdrawn (arts. 14, 16; docs/procedures.md: silence past the supplement period withdraws)."""
    records.withdraw_share_application(ctx.uow, application_id, SUPPLEMENT_LAPSED, ctx.now,
                                       reason="supplement_lapsed")
    return True


def coordinate(ctx, application_id: int, outcome: str, note: str) -> str:
    """The authority's coordination after a refusal (art. 14 para. 3)."""
    records.coordinate_share_application(ctx.uow, application_id, outcome, note, ctx.actor, ctx.now)
    return outcome


def grant_end(ctx, grant_id: int) -> datetime:
    """The instant a grant ends: 24:00 Beijing time of its last day (it is in force on that day)."""
    return period_end(load(ctx.session, grants.Grant, grant_id, GRANT).valid_until)


def expire_grant(ctx, grant_id: int) -> str:
    """End one grant with its period; one revoked, or expired by the daily sweep, stays as it is."""
    grant = load(ctx.session, grants.Grant, grant_id, GRANT)
    if grant.status == "active":
        grant.status, grant.expired_at = "expired", ctx.now
        record_audit(ctx.uow, grants.GRANT_EXPIRY_ACTOR, ctx.now, "grant_expired", grant.case_id,
                     {"grant_id": grant.id, "valid_until": grant.valid_until.isoformat()})
    return grant.status


FUNCTIONS = dict(COMMON)
FUNCTIONS.update({
    "register_application": register_application, "grant_unconditional": grant_unconditional,
    "approve_application": approve_application, "refuse_application": refuse_application,
    "supplement_materials": supplement_materials, "withdraw_application": withdraw_application,
    "withdraw_for_silence": withdraw_for_silence,
    "coordinate": coordinate, "grant_end": grant_end, "expire_grant": expire_grant,
})

# What the engine may ask of this procedure by name (engine.procedures.provider): a grant's renewal
# starts a new share application (engine.grant_service).
PROVIDES = {"issues_grants": True}
