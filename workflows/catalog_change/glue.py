"""Procedure 1, 目录变更 (arts. 7, 8, 9, 15, 16): after a change of the law it applies or of its
functions, a department updates its catalog draft, its 数长 approves, it reports the draft and the
change basis to the authority, and the authority publishes it as the department's new version.

The draft belongs to the case: ``CatalogVersion.case_id`` names the case working on it (and, once
published, the case that published it), so a department runs one catalog change at a time.
"""
from __future__ import annotations

import hashlib
import json
from datetime import date

import sqlalchemy as sa

from engine.calendar import BEIJING
from engine.domain import catalog
from engine.domain.org import Department, department_by_code
from engine.errors import GovflowError, InvalidForm
from engine.forms import FormField, Option
from engine.messages import Message, msg
from engine.models import Case
from engine.periods import PeriodSpec

from ..common import FUNCTIONS as COMMON
from ..common import dismissal_needs_reason

PROCESS_ID = "catalog_change"
CHANGE_KINDS = {"law": "法律修改", "regulation": "法规修改", "rule": "规章修改",  # art. 9
                "function": "行政管理职能变化"}
CATALOG_KEEPERS = ("county_department", "township", "public_service")  # arts. 2, 5: who keeps a catalog
DEPARTMENT_ROLES = frozenset({"provider_clerk", "dept_head"})
REQUIRED = {"required": None}

START_ROLES = {"provider_clerk", "authority"}  # art. 8: the authority may open one for a department
START_FORM = [
    FormField("department", "目录变更部门", "enum", validation=REQUIRED, properties={"options": "dynamic"}),
    FormField("change_kind", "变更原因", "enum", validation=REQUIRED,
              options=tuple(Option(k, v) for k, v in CHANGE_KINDS.items())),
    FormField("basis_document", "变更依据（文件名称及文号）", "textarea",
              validation={"required": None, "maxlength": "2000"}),
    FormField("change_date", "变更之日", "date", validation=REQUIRED),
]

# The statutory periods the diagram watches (docs/deadlines.md). Untimed on purpose: none; the
# withdrawal and publication are script steps.
PERIODS = {
    # art. 9: 15 working days from the change date, for the clerk's update and the 数长's approval
    # together (the update is done when the department approved it); after a return by the
    # authority, the rework period (design) from the return instead of the 15 days again.
    "update": PeriodSpec("catalog_update_days", "department", "9", "更新并审核部门目录",
                         restart_rule="catalog_rework_days", item=1),
    "report": PeriodSpec("catalog_report_days", "department", "9", "报送更新后的目录", item=1),  # art. 9
    "review": PeriodSpec("authority_decide_days", "authority", "9, 16", "审核报送的目录"),  # design
    "update_supervise": PeriodSpec("authority_decide_days", "authority", "31", "督办决定"),  # design
    "report_supervise": PeriodSpec("authority_decide_days", "authority", "31", "督办决定"),  # design
}


# -- who, what and when ---------------------------------------------------------------------------

def form_options(ctx, element_id: str, data: dict) -> dict:
    """The start form's departments: a provider clerk their own, the authority any (art. 8)."""
    if element_id != "__start__":
        return {}
    return {"department": [(d.code, d.name) for d in _departments_for(ctx.session, ctx.actor)]}


def _departments_for(session, actor) -> list[Department]:
    query = sa.select(Department).where(Department.kind.in_(CATALOG_KEEPERS), Department.active.is_(True))
    if "authority" not in actor.roles:
        query = query.where(Department.code == (actor.department or ""))
    return list(session.scalars(query.order_by(Department.code)))


def check_start(ctx, cleaned: dict) -> dict:
    """The change date is not in the future; the department has no change running already."""
    if date.fromisoformat(cleaned["change_date"]) > ctx.now.astimezone(BEIJING).date():
        raise InvalidForm({"change_date": msg("catalog_change.change_date_in_future",
                                              "the change date cannot be in the future")})
    holder = running_change(ctx.session, cleaned["department"])
    if holder is not None:
        raise InvalidForm({"department": _busy_message(holder)})
    return {**cleaned, "department_name": department_by_code(ctx.session, cleaned["department"]).name}


def resolve_department(role: str, data: dict) -> str | None:
    return data.get("department") if role in DEPARTMENT_ROLES else None


def title(data: dict) -> str:
    kind = CHANGE_KINDS.get(data.get("change_kind"), data.get("change_kind"))
    return f"目录变更：{data.get('department_name') or data.get('department')}（{kind}，{data.get('change_date')}）"


def running_change(session, dept_code: str) -> Case | None:
    """The running catalog change that holds the department's draft, if any."""
    draft = catalog.draft_of(session, dept_code)
    case = session.get(Case, draft.case_id) if draft is not None and draft.case_id else None
    return case if case is not None and case.status == "running" and case.process_id == PROCESS_ID else None


def _busy_message(holder: Case) -> Message:
    return msg("catalog_change.change_running", "the department already has a running catalog change, case {case}",
               case=holder.number)


# -- the draft ------------------------------------------------------------------------------------

def draft_fingerprint(entries: list[catalog.CatalogEntry]) -> str:
    """What the 数长 and the authority approve: a digest of every resource of the draft."""
    rows = [e.data() for e in sorted(entries, key=lambda e: e.code)]
    return hashlib.sha256(json.dumps(rows, ensure_ascii=False, sort_keys=True, default=str).encode()).hexdigest()


def check_draft(session, draft_id: int, field: str = "action") -> str:
    """The draft's fingerprint if it may be reported: every resource valid (arts. 7, 15, 16), no code
    of another department, and different from the published catalog; else InvalidForm (general
    problems under ``field``), so that a refused submission changes nothing."""
    try:
        draft = catalog.get_version(session, draft_id)
    except GovflowError as exc:
        raise InvalidForm({field: exc.args[0] if exc.args and isinstance(exc.args[0], str) else str(exc)}) from None
    entries = catalog.entries_of(session, draft.id)
    if draft.status != "draft" or not entries:
        raise InvalidForm({field: msg("catalog_change.draft_not_reportable",
                                      "the draft is published already or has no resources")})
    errors = {f"{e.code}.{name}": msg("catalog_change.resource_invalid", "resource {resource_code} ({name}): {problem}",
                                      resource_code=e.code, name=e.name, problem=problem)
              for e in entries for name, problem in catalog.validate_entry(e.data()).items()}
    for code, owner in catalog.codes_taken(session, draft.department_id, [e.code for e in entries]).items():
        errors[f"{code}.code"] = msg("catalog_change.code_taken",
                                     "the code {resource_code} belongs to another department, {owner}",
                                     resource_code=code, owner=owner)
    if errors:
        raise InvalidForm(errors)
    live = catalog.live_version(session, draft.department.code)
    if live is not None and catalog.diff_versions(session, live.id, draft.id).empty:
        raise InvalidForm({field: msg("catalog_change.draft_unchanged",
                                      "the draft does not differ from the published catalog")})
    return draft_fingerprint(entries)


def _check_unchanged(session, data: dict, field: str) -> None:
    """The draft is still the one the clerk submitted (edits after it need a new submission)."""
    entries = catalog.entries_of(session, data["draft_id"])
    if draft_fingerprint(entries) != data.get("draft_digest"):
        raise InvalidForm({field: msg("catalog_change.draft_changed_since_submission",
                                      "the draft changed after it was submitted; return it")})


# -- task forms: rules across fields --------------------------------------------------------------

def check_task(ctx, element_id: str, cleaned: dict) -> dict:
    check = TASK_CHECKS.get(element_id)
    return check(ctx, cleaned) if check is not None else cleaned


def _check_update(ctx, cleaned: dict) -> dict:
    """Submitting checks the draft (nothing changes if it is refused) and records what was submitted."""
    if cleaned["action"] != "submit":
        return cleaned
    return {**cleaned, "draft_digest": check_draft(ctx.session, ctx.task_data["draft_id"])}


def _check_decision(decision: str, opinion: str, full_check: bool):
    def check(ctx, cleaned: dict) -> dict:
        if cleaned[decision] == "return" and not cleaned.get(opinion):
            raise InvalidForm({opinion: msg("catalog_change.return_needs_opinion", "a return needs an opinion")})
        if cleaned[decision] == "approve":
            if full_check:  # the live catalogs may have moved since the submission
                check_draft(ctx.session, ctx.task_data["draft_id"], decision)
            _check_unchanged(ctx.session, ctx.task_data, decision)
        return {**cleaned, opinion: cleaned.get(opinion, "")}  # no stale opinion of an earlier round
    return check


def _check_supervision(ctx, cleaned: dict) -> dict:
    if cleaned["decision"] == "dismiss" and not cleaned.get("note"):
        raise InvalidForm({"note": dismissal_needs_reason()})
    return cleaned


TASK_CHECKS = {
    "update_catalog": _check_update,
    "internal_approval": _check_decision("head_decision", "head_opinion", full_check=False),
    "authority_review": _check_decision("review_decision", "review_opinion", full_check=True),
    "update_catalog_supervise": _check_supervision,
    "internal_approval_supervise": _check_supervision,
    "report_supervise": _check_supervision,
}


# -- functions the diagram calls ------------------------------------------------------------------

def open_change_draft(ctx, dept_code: str) -> int:
    """Open (or take up) the department's catalog draft for this case; one change at a time (art. 9)."""
    draft = catalog.open_draft(ctx.uow, dept_code, ctx.actor, ctx.now)  # locks the department row
    holder = running_change(ctx.session, dept_code)
    if holder is not None and holder.id != ctx.case.id:
        raise GovflowError(_busy_message(holder))
    draft.case_id = ctx.case.id
    return draft.id


# Both return the case's outcome: the engine reads ``outcome`` from the case data first, and with
# reminder and 督办 branches ending too, the last end event it finds is not necessarily the main one.

def withdraw_change(ctx, draft_id: int) -> str:
    """The department withdraws the change: the draft is discarded, the live catalog stays.
    A draft already gone (discarded in the catalog service) leaves nothing to discard."""
    draft = ctx.session.get(catalog.CatalogVersion, draft_id)
    if draft is not None and draft.status == "draft":
        catalog.discard_draft(ctx.uow, draft_id, ctx.actor, ctx.now)
    return "withdrawn"


def publish_change(ctx, draft_id: int, basis: str) -> str:
    """The authority's approval registers and publishes the draft (art. 16) with its change basis
    (art. 9); the department's previous version is superseded."""
    catalog.publish_draft(ctx.uow, draft_id, ctx.actor, ctx.now, basis=basis, case_id=ctx.case.id)
    return "published"


FUNCTIONS = {
    **COMMON,
    "open_change_draft": open_change_draft,
    "withdraw_change": withdraw_change,
    "publish_change": publish_change,
}
