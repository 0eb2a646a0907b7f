"""Procedure `rectification` — 违规整改 (docs/procedures.md §5; arts. 31 and 32).

The violation's ladder lives in ``engine.domain.violations``: recorded → notified → rectified or
ordered → rectified or criticised → referred or closed. Every step of the diagram that climbs a rung
records it there; the case data only carries ids, the deadlines' start dates and small values.

Periods (``PERIODS``, docs/deadlines/rectification.md): the department's periods (the notice's, the
order's, and the rework after a rejected report) end by changing the path, art. 31 para. 2, so they
raise no 督办 (``item=None``): the ladder itself is the consequence. The authority's and the county
government's own steps are reminded and marked late (no 督办, no violation).

Untimed on purpose:

* ``referral`` (移送处分): the disciplinary body (纪委监委 or the appointing authority) decides 处分
  under its own law (监察法, 公职人员政务处分法, art. 32 of the regulation: 依法给予处分); neither the
  regulation nor the county's rule set can set that body a period, and the platform only records the
  handover and its result.
* the script steps (recording, issuing, closing): they run at once.
"""
from __future__ import annotations

import sqlalchemy as sa
from SpiffWorkflow.util.task import TaskState

from engine import periods
from engine.domain import violations
from engine.domain.org import Department, department_by_code
from engine.errors import InvalidForm
from engine.forms import FormField, Option
from engine.messages import msg
from engine.periods import PeriodSpec

from ..common import FUNCTIONS as COMMON

START_ROLES = {"authority"}  # art. 31: the authority notifies the department
VIOLATOR_KINDS = ("county_department", "township", "public_service")  # art. 31: 政务部门、企事业单位
REQUIRED = {"required": None}

START_FORM = [
    FormField("department", "责任部门", "enum", validation=REQUIRED, properties={"options": "dynamic"}),
    FormField("item", "违反第三十一条第几项", "enum", validation=REQUIRED,
              options=tuple(Option(str(n), f"第{n}项：{title}") for n, title in violations.ART31_ITEMS.items())),
    FormField("evidence", "违规事实及证据", "textarea", validation={**REQUIRED, "maxlength": "5000"}),
]

# (decision field, the value that sends the work back, the field that must then explain why)
SEND_BACKS = {
    "sign": ("sign_decision", "return", "sign_comment"), "sign2": ("sign_decision2", "return", "sign_comment2"),
    "verify": ("verify_result", "rejected", "verify_opinion"),
    "verify2": ("verify_result2", "rejected", "verify_opinion2"),
}
DEADLINES = {"notice": ("notice", "rectify_days"), "order": ("order", "order_days")}  # art. 31, design

# The statutory periods the diagram watches (docs/deadlines/rectification.md).
PERIODS = {
    # design: the authority issues the notice within notice_days of recording the violation (the
    # case's start, whether recorded here or confirmed from another case's 督办).
    "notice": PeriodSpec("notice_days", "authority", "31", "下达整改通知"),
    # art. 31: rectify and report within the notice's days (rectify_days unless the notice sets
    # them), from the notice: the clerk's report and the 数长's signature together; a report the
    # authority did not accept: rework_days (design) from the rejection. Its end: the county
    # government's order (the path changes; no 督办).
    "rectify": PeriodSpec("rectify_days", "department", "31", "整改并报告", restart_rule="rework_days"),
    # design: the authority checks a report within verify_days of it (each report of either round).
    "verify": PeriodSpec("verify_days", "authority", "31", "核查整改报告"),
    # design: the county government orders the correction within authority_decide_days of the
    # missed period (the regulation gives the order to the county government, without a period).
    "order": PeriodSpec("authority_decide_days", "county_gov", "31", "责令限期改正"),
    # art. 31: correct and report within the order's days (order_days unless the order sets them),
    # from the order; a rejected report: rework_days from the rejection. Its end: 通报批评.
    "correct": PeriodSpec("order_days", "department", "31", "限期改正并报告", restart_rule="rework_days"),
    # design: the county government issues the criticism within authority_decide_days.
    "criticise": PeriodSpec("authority_decide_days", "county_gov", "31", "通报批评"),
    # design: the authority judges whether the case is serious within authority_decide_days.
    "assess": PeriodSpec("authority_decide_days", "authority", "31, 32", "研判情节是否严重"),
}
DEADLINE_FIELDS = {"rectify": "notice_due", "correct": "order_due"}  # the department's periods


# -- the engine's questions ---------------------------------------------------------------------

def title(data: dict) -> str:
    return f"违规整改：{data.get('department_name', '')}（第三十一条第{data.get('item', '')}项）"


def form_options(ctx, element_id: str, data: dict) -> dict:
    if element_id != "__start__":
        return {}
    return {"department": [(d.code, d.name) for d in _violators(ctx.session)]}


def check_start(ctx, cleaned: dict) -> dict:
    """A manual start: the violation is recorded by the diagram's first step, once the case exists."""
    name = department_by_code(ctx.session, cleaned["department"]).name
    return {**cleaned, "item": int(cleaned["item"]), "department_name": name, "violation_id": None}


def check_task(ctx, element_id: str, cleaned: dict) -> dict:
    if element_id in DEADLINES:
        return _with_deadline_start(ctx, element_id, cleaned)
    if element_id in SEND_BACKS:
        decision, back, why = SEND_BACKS[element_id]
        if cleaned.get(decision) == back and not cleaned.get(why):
            raise InvalidForm({why: msg("rectification.send_back_needs_reason", "say why it is sent back")})
        return {why: "", **cleaned}
    return cleaned


def _with_deadline_start(ctx, element_id: str, cleaned: dict) -> dict:
    """The period runs from the day the notice or order is issued; its length defaults to the rule set's."""
    prefix, period = DEADLINES[element_id]
    days = cleaned.get(f"{prefix}_days") or ctx.rules.periods[period]
    issued_on = ctx.services.receipt_date(ctx.session, ctx.now)
    return {**cleaned, f"{prefix}_days": days, f"{prefix}_on": issued_on.isoformat()}


def _violators(session) -> list[Department]:
    return list(session.scalars(sa.select(Department).where(
        Department.active.is_(True), Department.kind.in_(VIOLATOR_KINDS)).order_by(Department.code)))


# -- diagram functions --------------------------------------------------------------------------

def record_case_violation(ctx, department: str, item: int, evidence: str) -> int:
    """The authority's own finding: record the violation for this case (art. 31)."""
    return violations.record_violation(ctx.uow, dept_code=department, item=item, evidence=evidence,
                                       actor=ctx.actor, now=ctx.now, case_id=ctx.case.id).id


def issue_notice(ctx, violation_id: int, requirements: str, days: int) -> str:
    """整改通知 (art. 31): the department must rectify within ``days`` working days of the notice."""
    return _set_deadline(ctx, violation_id, "notified", "整改通知", "rectify", requirements, days)


def issue_order(ctx, violation_id: int, requirements: str, days: int) -> str:
    """责令限期改正 (art. 31): the county government's order after a missed notice deadline."""
    return _set_deadline(ctx, violation_id, "ordered", "责令限期改正", "correct", requirements, days)


def _set_deadline(ctx, violation_id, step, what, period, requirements, days) -> str:
    """The notice or order opens the department's period (day 0: its receipt; the rectify and sign
    tasks' timers then share it), and the violation keeps its due date."""
    due = periods.period_due(ctx, period, None, days)
    provisional = "（暂定）" if due.provisional else ""
    note = f"{what}：{requirements}；期限 {days} 个工作日，至 {due.due_date.isoformat()}{provisional}"
    violations.advance_violation(ctx.uow, violation_id, step, ctx.actor, ctx.now, note, deadline=due.due_date)
    return due.due_date.isoformat()


def reopen_period(ctx, violation_id: int, period: str) -> str:
    """The authority did not accept the report (art. 31; docs/procedures.md §5 step 3): the department's
    rework period (``rework_days``) runs from the rejection, however late the authority answered, and
    is the deadline in force; the period of the notice or order closed when the report was signed."""
    due = periods.period_due(ctx, period)
    violations.move_violation_deadline(ctx.uow, violation_id, due.due_date, ctx.actor, ctx.now,
                                       reason="rework", provisional=due.provisional)
    return due.due_date.isoformat()


def period_moved(ctx, row) -> None:
    """The engine moved one of the case's periods (a published year, a calendar correction): the
    violation's deadline and the due date shown in the forms follow the department's period."""
    field = DEADLINE_FIELDS.get(row.name)
    if field is None:
        return
    found = ctx.session.scalars(sa.select(violations.Violation).where(
        violations.Violation.case_id == ctx.case.id)).first()
    if found is None or found.status not in violations.STEPS_WITH_DEADLINE:
        return
    violations.move_violation_deadline(ctx.uow, found.id, row.due_date, ctx.actor, ctx.now,
                                       reason="period_moved", provisional=row.provisional)
    value = row.due_date.isoformat()
    for task in _live_tasks(ctx.workflow):
        if field in task.data:
            task.data[field] = value


def _live_tasks(workflow) -> list:
    """The tasks whose data is the case's current data: the open ones and the last one done."""
    tasks = list(workflow.get_tasks(state=TaskState.READY | TaskState.WAITING | TaskState.STARTED))
    return tasks + ([workflow.last_task] if workflow.last_task is not None else [])


def record_rectified(ctx, violation_id: int, opinion: str) -> str:
    """The authority accepts the department's report: the violation is rectified."""
    violations.advance_violation(ctx.uow, violation_id, "rectified", ctx.actor, ctx.now,
                                 opinion or msg("rectification.accepted", "rectification accepted"))
    return "rectified"


def record_criticism(ctx, violation_id: int, text: str) -> bool:
    """通报批评 (art. 31): the order's deadline passed without correction."""
    violations.advance_violation(ctx.uow, violation_id, "criticised", ctx.actor, ctx.now, text)
    return True


def close_after_criticism(ctx, violation_id: int, note: str) -> str:
    """Not serious: the criticism ends the matter and the violation is closed."""
    violations.advance_violation(ctx.uow, violation_id, "closed", ctx.actor, ctx.now,
                                 f"情节不严重，通报批评后结案：{note}")
    return "criticised"


def record_referral(ctx, violation_id: int, persons: str, decision: str) -> str:
    """情节严重 (arts. 31, 32): the responsible persons are handed over for 处分."""
    violations.advance_violation(ctx.uow, violation_id, "referred", ctx.actor, ctx.now,
                                 f"责任人员：{persons}；处分决定：{decision}")
    return "referred"


FUNCTIONS = {
    **COMMON,
    "record_case_violation": record_case_violation,
    "issue_notice": issue_notice,
    "issue_order": issue_order,
    "reopen_period": reopen_period,
    "record_rectified": record_rectified,
    "record_criticism": record_criticism,
    "close_after_criticism": close_after_criticism,
    "record_referral": record_referral,
}


# What the engine may ask of this procedure by name (engine.procedures.provider): the supervision
# dashboard's 督办 → 立案 starts a rectification case (engine.verbs.supervision.confirm, art. 31).
PROVIDES = {"opens_rectification": COMMON["open_rectification"]}
