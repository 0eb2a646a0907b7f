"""Procedure ``inconsistency_arbitration`` — 不一致协调 (arts. 13, 19).

Departments that provide different values of the same category of data each state which value is
right. The lead department (牵头部门, design: the provider of the first resource the report names)
proposes a resolution — whose record is right (the prevailing department), which departments correct
their data — and every other department accepts it or not. If all accept, the departments named
correct their data within ``correction_days`` of the agreement (outcome ``agreed``). If one
disagrees, the lead department asks for coordination, or the negotiation period passes, the
authority decides which value stands and who corrects (``decided``). Either way the authority
confirms the corrections before the case ends. "Agreed" without a resolution (no prevailing record,
nobody correcting) is refused (``InvalidForm``): docs/procedures.md, "an agreement without a resolution is
not an agreement".

Stating positions, accepting and correcting are multi-instance user tasks, one instance per
department, each worked by that department's clerks. SpiffWorkflow's Camunda multi-instance hands
only the element variable (``department``) back to the case, never an instance's form data, so each
instance's result goes into the inconsistency report as it is submitted (``check_task``: the same
unit of work, the department's own clerk as the actor).

Periods (``PERIODS``; docs/deadlines/inconsistency_arbitration.md has the table). Every human step
is timed; none is left untimed. Two things the engine does not do yet for multi-instance tasks, and
how this module works around them (see the report of issue 13):

* one boundary timer watches all instances, so a period opened for them is one period: its
  ``department`` is filled from the first instance. ``escalate_overdue`` here opens the period's 督办
  for the first late instance (the in-case decision) and one more 督办 for each other department
  still late, records the first late department on the period, and tells the late departments;
  ``negotiation_lapsed`` records which departments let the negotiation period pass.
* the engine tells only the people of the first instance of a reminder (and only while that instance
  is open); ``remind_instances`` tells the departments of the other open instances, once per period.
"""
from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from engine import audit, periods
from engine.deadlines import attached_user_task, compute
from engine.domain import catalog, notifications, org
from engine.domain.violations import open_supervision_item
from engine.errors import GovflowError, InvalidForm, NotFound
from engine.forms import FormField
from engine.messages import msg
from engine.models import HumanTask
from engine.periods import PeriodSpec
from SpiffWorkflow.util.task import TaskState

from . import records
from . import records as inconsistencies
from ..common import ESCALATION_ACTOR, dismissal_needs_reason, joined, overdue_note, period_of_task
from ..common import FUNCTIONS as COMMON

START_ROLES = {"authority", "consumer_clerk", "provider_clerk"}
REQUIRED = {"required": None}
START_FORM = [
    FormField("resources", "不一致的数据资源（每行一个资源代码，至少涉及两个部门；第一个资源的提供部门牵头协商）",
              "textarea", validation={**REQUIRED, "maxlength": "1000"}),
    FormField("description", "不一致情况说明", "textarea", validation={**REQUIRED, "maxlength": "2000"}),
    FormField("records", "涉及的数据记录", "textarea", validation={"maxlength": "2000"}),
]

# The statutory periods the diagram watches (docs/deadlines/inconsistency_arbitration.md).
# Untimed on purpose: none (registering, settling and recording are script steps).
PERIODS = {
    # art. 19 (design: 10 working days from the start of arbitration): the departments' positions,
    # the lead department's proposal and the others' acceptance; when it passes the authority steps
    # in (the timers interrupt), so no 督办 (item None): the joint obligation has its own consequence.
    "negotiation": PeriodSpec("negotiation_days", "department", "19", "陈述意见并协商形成一致意见"),
    # art. 19 (design): the authority's coordination, from the request (a disagreement, the lead's
    # request or the end of the negotiation period); reminded and marked late, no 督办.
    "decide": PeriodSpec("authority_decide_days", "authority", "19", "协调处理数据不一致"),
    # arts. 13, 19 (design: 10 working days from the agreement or the decision): each department
    # found wrong corrects its data; overdue: 督办, art. 31 item 3 (未及时更新、校核政务数据资源).
    "correction": PeriodSpec("correction_days", "department", "13, 19", "更正有误的政务数据", item=3),
    # art. 19 (design): the authority confirms the corrections; reminded and marked late, no 督办.
    "confirm": PeriodSpec("authority_decide_days", "authority", "19", "确认更正情况"),
    # art. 31 (design): the authority's decision on a correction's 督办.
    "correct_supervise": PeriodSpec("authority_decide_days", "authority", "31", "督办决定"),
}
MULTI_INSTANCE = ("state_position", "negotiate", "correct")


# -- starting a case ---------------------------------------------------------------------------

def check_start(ctx, cleaned: dict) -> dict:
    """Resolve each resource to its provider department; art. 19 needs two departments or more."""
    codes = _lines(cleaned["resources"])
    if len(codes) < 2:
        raise InvalidForm({"resources": msg("inconsistency_arbitration.two_resources_needed",
                                            "name at least two resource codes")})
    parties = [{"department": code_dept, "resource_code": code}
               for code, code_dept in zip(codes, _providers(ctx, codes))]
    departments = list(dict.fromkeys(p["department"] for p in parties))
    if len(departments) < 2:
        raise InvalidForm({"resources": msg("inconsistency_arbitration.two_departments_needed",
                                            "the resources must belong to two different departments or more, "
                                            "art. 19")})
    started = ctx.services.receipt_date(ctx.session, ctx.now).isoformat()
    lead = departments[0]  # design: the provider of the first resource named leads the negotiation
    return {**cleaned, "records": cleaned.get("records", ""), "parties": parties, "departments": departments,
            "lead_department": lead,
            # one list per multi-instance task: see tools/diagrams/inconsistency_arbitration.py
            "position_departments": list(departments),
            "negotiation_departments": [d for d in departments if d != lead],
            "arbitration_started": started}


def _providers(ctx, codes: list[str]) -> list[str]:
    found, unknown = [], []
    for code in codes:
        try:
            found.append(catalog.get_resource(ctx.session, code).department.code)
        except NotFound:
            unknown.append(code)
    if unknown:
        raise InvalidForm({"resources": msg("inconsistency_arbitration.unknown_resources",
                                            "no published resource {codes}", **joined("codes", unknown))})
    return found


def title(data: dict) -> str:
    return "数据不一致协调：" + "、".join(p["resource_code"] for p in data.get("parties", []))


def form_options(ctx, element_id: str, data: dict) -> dict:
    """The lead department and the authority choose among the departments involved."""
    field = {"authority_decide": "prevailing_department", "propose_resolution": "proposed_prevailing"}.get(element_id)
    if field is None:
        return {}
    return {field: [(code, _name(ctx, code)) for code in data.get("departments", [])]}


# -- each department's answer, recorded as it is submitted --------------------------------------

def check_task(ctx, element_id: str, cleaned: dict) -> dict:
    """Check a submitted form and record a department's answer in the report (see the module doc)."""
    handler = ON_SUBMIT.get(element_id)
    return handler(ctx, ctx.task_data, cleaned) if handler else cleaned


def _state_position(ctx, data: dict, cleaned: dict) -> dict:
    """The department says which value is right (art. 19); it has agreed to nothing yet."""
    evidence = cleaned.get("evidence")
    position = cleaned["position"] + (f"\n依据：{evidence}" if evidence else "")
    records.record_position(ctx.uow, data["report_id"], data["department"], position, False,
                            ctx.actor, ctx.now)
    return cleaned


def _propose(ctx, data: dict, cleaned: dict) -> dict:
    """The lead department proposes a resolution (whose record is right, who corrects) or asks the
    authority to coordinate; a proposal without a prevailing record or a correction is refused."""
    if cleaned["proposal_action"] == "escalate":
        if not cleaned.get("proposal_note"):
            raise InvalidForm({"proposal_note": msg("inconsistency_arbitration.escalation_needs_reason",
                                                    "say why no agreement can be reached")})
        return {**cleaned, "proposal_summary": ""}
    prevailing = cleaned.get("proposed_prevailing") or ""
    errors = {}
    if not prevailing:
        errors["proposed_prevailing"] = msg("inconsistency_arbitration.prevailing_required",
                                            "an agreement names the department whose record is right")
    if not cleaned.get("resolution_text"):
        errors["resolution_text"] = msg("inconsistency_arbitration.resolution_required",
                                        "state the resolution: the right value and what is corrected")
    if errors:
        raise InvalidForm(errors)
    codes = _must_correct(data["departments"], prevailing, cleaned.get("proposed_correcting", ""),
                          "proposed_correcting")
    inconsistencies.record_proposal(ctx.uow, data["report_id"], data["lead_department"], prevailing, codes,
                                    cleaned["resolution_text"], ctx.actor, ctx.now)
    summary = _summary(ctx, prevailing, codes, cleaned["resolution_text"])
    return {**cleaned, "proposed_codes": codes, "proposal_summary": summary, "proposal_note": ""}


def _negotiate(ctx, data: dict, cleaned: dict) -> dict:
    """The department accepts the proposed resolution or says why not; its stated position stays."""
    if not cleaned["agree"] and not cleaned.get("note"):
        raise InvalidForm({"note": msg("inconsistency_arbitration.disagreement_needs_reason",
                                       "say why the department disagrees")})
    if cleaned["agree"] and not (data.get("proposed_prevailing") and data.get("proposed_codes")):
        raise InvalidForm({"agree": msg("inconsistency_arbitration.nothing_to_agree_to",
                                        "there is no resolution to agree to")})
    report = _report(ctx, data["report_id"])
    position = report.parties_of(data["department"])[0].position  # stated before negotiating
    records.record_position(ctx.uow, report.id, data["department"], position, cleaned["agree"],
                            ctx.actor, ctx.now)
    return cleaned


def _authority_decide(ctx, data: dict, cleaned: dict) -> dict:
    """Refuse a list of departments to correct that names an outsider or the prevailing one."""
    _must_correct(data["departments"], cleaned["prevailing_department"], cleaned.get("must_correct", ""))
    return {**cleaned, "must_correct": cleaned.get("must_correct", "")}


def _correct(ctx, data: dict, cleaned: dict) -> dict:
    """The department reports its correction; the report closes with the last one."""
    records.record_correction(ctx.uow, data["report_id"], data["department"], cleaned["correction_note"],
                              ctx.actor, ctx.now)
    return cleaned


def _confirm(ctx, data: dict, cleaned: dict) -> dict:
    """The authority confirms that every correction was made."""
    inconsistencies.confirm_corrections(ctx.uow, data["report_id"], cleaned["confirm_note"], ctx.actor, ctx.now)
    return cleaned


def _check_supervision(ctx, data: dict, cleaned: dict) -> dict:
    if cleaned["decision"] == "dismiss" and not cleaned.get("note"):
        raise InvalidForm({"note": dismissal_needs_reason()})
    return cleaned


ON_SUBMIT = {"state_position": _state_position, "propose_resolution": _propose, "negotiate": _negotiate,
             "authority_decide": _authority_decide, "correct": _correct, "authority_confirm": _confirm,
             "correct_supervise": _check_supervision}


# -- diagram functions -----------------------------------------------------------------------------

def create_report(ctx, case_id: int, parties: list[dict], description: str, records_text: str = "") -> int:
    """Register the inconsistency report of this case; return its id."""
    text = f"{description}\n涉及记录：{records_text}" if records_text else description
    report = records.create_inconsistency_report(
        ctx.uow, description=text, involved=[(p["department"], p["resource_code"]) for p in parties],
        actor=ctx.actor, now=ctx.now, reporter_dept_code=ctx.actor.department, case_id=case_id)
    return report.id


def all_agreed(ctx, report_id: int) -> bool:
    """Has every department involved accepted the proposed resolution?"""
    return all(p.agreed for p in _report(ctx, report_id).parties)


def settle_agreed(ctx, report_id: int, prevailing: str, codes: list[str], summary: str) -> tuple[str, list[str], dict]:
    """Every department accepted the lead department's resolution: settle as ``agreed``; the
    departments it names correct their data by the end of the correction period (arts. 13, 19)."""
    if not prevailing or not codes:  # _negotiate refuses an acceptance of nothing; never settle one
        raise GovflowError(msg("inconsistency_arbitration.no_resolution_proposed",
                               "no resolution was proposed: an agreement needs one"))
    answers = _answers(ctx, "negotiate")
    text = (f"各部门协商一致：{summary}。"
            + "；".join(f"{_name(ctx, dept)}：{answer.get('note') or '同意'}" for dept, answer in answers.items()))
    resolution = _resolution(ctx, "agreed", prevailing, codes, text)
    records.decide_inconsistency(ctx.uow, report_id, "agreed", _decision_text(ctx, resolution), codes, ctx.actor,
                                 ctx.now, prevailing=prevailing,
                                 correction_due=_day(resolution["correction_due"]))
    return "agreed", list(codes), resolution


def decide_by_authority(ctx, report_id: int, prevailing: str, must_correct: str,
                        decision: str) -> tuple[str, list[str], dict]:
    """The authority's decision (art. 19): whose value stands, who corrects, and by when."""
    departments = list(dict.fromkeys(p.department.code for p in _report(ctx, report_id).parties))
    wrong = _must_correct(departments, prevailing, must_correct)
    resolution = _resolution(ctx, "decided", prevailing, wrong, decision)
    records.decide_inconsistency(ctx.uow, report_id, "decided", _decision_text(ctx, resolution), wrong, ctx.actor,
                                 ctx.now, prevailing=prevailing, correction_due=_day(resolution["correction_due"]))
    return "decided", wrong, resolution


def negotiation_lapsed(ctx, report_id: int, lead: str, others: list[str]) -> list[str]:
    """The negotiation period passed (art. 19): the authority steps in. Record which departments
    still held the negotiation (and name the first on the period, whose department the engine took
    from the first watched task), so that nobody is counted late for another's delay."""
    report = _report(ctx, report_id)
    silent = list(dict.fromkeys(p.department.code for p in report.parties if not p.position))
    if silent:
        late = silent
    elif not report.parties_of(lead)[0].agreed:  # no proposal yet (proposing is the lead's acceptance)
        late = [lead]
    else:
        answered = _answers(ctx, "negotiate")
        late = [code for code in dict.fromkeys(others) if code not in answered]
    period = _running_period(ctx, "negotiation")
    if period is not None and late:
        period.department = late[0]
    ctx.uow.record(audit.Entry(ctx.now, ESCALATION_ACTOR.username, "negotiation_lapsed", ctx.case.id, summary={
        "report_id": report_id, "late": late, "due_date": period.due_date.isoformat() if period else None}))
    return late


def instance_department(ctx, element_id: str) -> str:
    """The department of the open instance the 督办 is about (the first, as ``escalate_overdue`` takes it)."""
    return _ready_instances(ctx, element_id)[0].data["department"]


def escalate_overdue(ctx, element_id: str, dept_code: str, item: int = 3) -> int:
    """workflows.common.escalate_overdue, and for a multi-instance task (the correction period, one
    timer for every department's ``correct``): the other departments still late get a 督办 each
    (linked to the same period, decided on the supervision page); the period names the first late
    department; the late departments are told (ENGINE workaround, see the module doc)."""
    first = COMMON["escalate_overdue"](ctx, element_id, dept_code, item)
    if element_id not in MULTI_INSTANCE or not first:
        return first
    late = _ready_instances(ctx, element_id)
    period = period_of_task(ctx, late[0])
    if period is not None:
        period.department = late[0].data["department"]
    for instance in late[1:]:
        open_supervision_item(ctx.uow, case_id=ctx.case.id, human_task_id=str(instance.id),
                              dept_code=instance.data["department"], possible_violation_item=item,
                              actor=ESCALATION_ACTOR, now=ctx.now, period_id=period.id if period else None,
                              note=overdue_note(PERIODS["correction"].title, period))
    _notify_instances(ctx, element_id, f"{element_id}_overdue", "overdue", bool(period and period.provisional))
    return first


def remind_instances(ctx, element_id: str, period_name: str) -> int:
    """The period's reminder fired on a multi-instance task: tell the departments of the open
    instances the engine does not tell (it tells the first instance's only); once per period."""
    period = _running_period(ctx, period_name)
    if period is None or period.reminded_at is not None:  # a second reminder of the period tells nobody
        return 0
    return _notify_instances(ctx, element_id, f"{element_id}_reminder", "reminder", period.provisional)


def period_moved(ctx, row) -> None:
    """The engine moved one of the case's periods (a published year, a calendar correction): the
    case data that states its dates follows (the start of arbitration, the resolution's due date)."""
    for task in _live_tasks(ctx.workflow):
        if row.name == "negotiation" and "arbitration_started" in task.data:
            task.data["arbitration_started"] = row.start_date.isoformat()
        resolution = task.data.get("resolution")
        if row.name == "correction" and isinstance(resolution, dict):
            task.data["resolution"] = {**resolution, "settled_on": row.start_date.isoformat(),
                                       "correction_due": row.due_date.isoformat(), "provisional": row.provisional}


def _live_tasks(workflow) -> list:
    """The tasks whose data is the case's current data: the open ones and the last one done."""
    tasks = list(workflow.get_tasks(state=TaskState.READY | TaskState.WAITING | TaskState.STARTED))
    return tasks + ([workflow.last_task] if workflow.last_task is not None else [])


FUNCTIONS = {
    **COMMON,
    "create_report": create_report,
    "all_agreed": all_agreed,
    "settle_agreed": settle_agreed,
    "decide_by_authority": decide_by_authority,
    "negotiation_lapsed": negotiation_lapsed,
    "instance_department": instance_department,
    "escalate_overdue": escalate_overdue,
    "remind_instances": remind_instances,
}


# -- helpers ---------------------------------------------------------------------------------------

def _lines(text: str) -> list[str]:
    return list(dict.fromkeys(line.strip() for line in (text or "").splitlines() if line.strip()))


def _name(ctx, dept_code: str) -> str:
    return org.department_by_code(ctx.session, dept_code).name


def _report(ctx, report_id: int) -> records.InconsistencyReport:
    return ctx.session.get(records.InconsistencyReport, report_id)


def _must_correct(departments: list[str], prevailing: str, text: str, field: str = "must_correct") -> list[str]:
    """The departments listed, or by default every department but the one whose value stands."""
    codes = _lines(text) or [d for d in departments if d != prevailing]
    unknown = [c for c in codes if c not in departments]
    if unknown:
        raise InvalidForm({field: msg("inconsistency_arbitration.not_involved",
                                      "not a department involved: {codes}", **joined("codes", unknown))})
    if prevailing in codes:
        raise InvalidForm({field: records.prevailing_does_not_correct()})
    return codes


def _summary(ctx, prevailing: str, codes: list[str], text: str) -> str:
    return (f"采信{_name(ctx, prevailing)}（{prevailing}）的数据；须更正："
            + "、".join(_name(ctx, c) for c in codes) + f"。{text}")


def _resolution(ctx, outcome: str, prevailing: str, codes: list[str], text: str) -> dict:
    """What was settled, kept in the case data: whose record is right, who corrects, by when (the
    correction period counts from the receipt of this agreement or decision, arts. 13, 19)."""
    n = int(ctx.rules.periods["correction_days"])
    receipt = ctx.services.receipt(ctx.session, ctx.now)
    due = compute(ctx.services.calendar(ctx.session), receipt.date, n)
    return {"outcome": outcome, "prevailing": prevailing, "must_correct": list(codes), "text": text,
            "settled_on": receipt.date.isoformat(), "correction_days": n, "correction_due": due.due_date.isoformat(),
            "provisional": due.provisional or receipt.provisional}


def _decision_text(ctx, resolution: dict) -> str:
    """The report's decision, for people. The due date is not in it: a published year or a calendar
    correction moves it (``period_moved``); the resolution in the case data and the period row follow."""
    n = resolution["correction_days"]
    return (f"采信{_name(ctx, resolution['prevailing'])}（{resolution['prevailing']}）的数据；须更正："
            + "、".join(f"{_name(ctx, c)}（{c}）" for c in resolution["must_correct"])
            + f"，自{'协商一致' if resolution['outcome'] == 'agreed' else '协调决定'}之日起 {n} 个工作日内更正。"
            + resolution["text"])


def _day(iso: str) -> date:
    return date.fromisoformat(iso)


def _answers(ctx, element_id: str) -> dict[str, dict]:
    """Department -> form data of the completed instances of a multi-instance task."""
    done = ctx.workflow.get_tasks(state=TaskState.COMPLETED, manual=True)
    return {t.data["department"]: t.data for t in done if t.task_spec.bpmn_id == element_id}


def _ready_instances(ctx, element_id: str) -> list:
    return [t for t in ctx.workflow.get_tasks(state=TaskState.READY, manual=True)
            if t.task_spec.bpmn_id == element_id]


def _running_period(ctx, name: str):
    rows = [r for r in periods.case_periods(ctx.uow, ctx.case.id).get(name, []) if r.state == "running"]
    return rows[-1] if rows else None


def _notify_instances(ctx, element_id: str, timer_id: str, kind: str, provisional: bool) -> int:
    """Tell the people of every open instance of ``element_id`` but the one the engine tells for the
    timer ``timer_id`` (ENGINE: engine.domain.notifications notifies the deadline row's task only,
    ``engine.deadlines.attached_user_task``: the first instance)."""
    ready = _ready_instances(ctx, element_id)
    told = _engine_told(ready[0], timer_id) if ready else None
    ids = [str(t.id) for t in ready if t is not told]
    if not ids:
        return 0
    rows = ctx.uow.step(ctx.case.id).open_tasks or {}
    found = [rows[i] for i in ids if i in rows]
    missing = [i for i in ids if i not in rows]
    if missing:
        found += list(ctx.session.scalars(sa.select(HumanTask).where(HumanTask.id.in_(missing),
                                                                     HumanTask.state == "ready")))
    text = f"{ctx.case.number or ctx.case.id} {ctx.case.title}".strip()
    count = 0
    for row in found:
        logins = org.eligible_logins(ctx.session, row)
        count += notifications.notify(ctx.uow, logins, kind, ctx.case.id, row.id,
                                      f"{text} · {row.name}" + (" · 期限暂定" if provisional else ""), ctx.now)
    return count


def _engine_told(instance, timer_id: str):
    """The instance the engine notifies for the boundary timer ``timer_id`` of the instance's task."""
    split = instance.parent.parent if instance.parent is not None else None
    for timer in split.children if split is not None else ():
        if timer.task_spec.bpmn_id == timer_id:
            return attached_user_task(timer)
    return None

