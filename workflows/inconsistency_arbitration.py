"""Procedure ``inconsistency_arbitration`` — 不一致协调 (art. 19).

Departments that provide different values of the same category of data each state which value is
right, then negotiate. If every department accepts the resolution, the departments whose data is
wrong correct it (outcome ``agreed``). If one disagrees, or the negotiation period passes, the
authority decides which value stands and who corrects; it then confirms the corrections
(``decided``).

Stating positions, negotiating and correcting are multi-instance user tasks, one instance per
department, each worked by that department's clerks. SpiffWorkflow's Camunda multi-instance hands
only the element variable (``department``) back to the case, never an instance's form data, so each
instance's result goes into the inconsistency report as it is submitted (``check_task``: the same
unit of work, the department's own clerk as the actor), and ``settle_agreed`` reads the departments'
"our data must change" answers from the finished negotiation instances.
"""
from __future__ import annotations

from engine.domain import catalog, org, records
from engine.errors import InvalidForm, NotFound
from engine.forms import FormField
from SpiffWorkflow.util.task import TaskState

from .common import FUNCTIONS as COMMON

START_ROLES = {"authority", "consumer_clerk", "provider_clerk"}
REQUIRED = {"required": None}
START_FORM = [
    FormField("resources", "不一致的数据资源（每行一个资源代码，至少涉及两个部门）", "textarea",
              validation={**REQUIRED, "maxlength": "1000"}),
    FormField("description", "不一致情况说明", "textarea", validation={**REQUIRED, "maxlength": "2000"}),
    FormField("records", "涉及的数据记录", "textarea", validation={"maxlength": "2000"}),
]


# -- starting a case ---------------------------------------------------------------------------

def check_start(ctx, cleaned: dict) -> dict:
    """Resolve each resource to its provider department; art. 19 needs two departments or more."""
    codes = _lines(cleaned["resources"])
    if len(codes) < 2:
        raise InvalidForm({"resources": "至少填写两个资源代码 (name at least two resource codes)"})
    parties = [{"department": code_dept, "resource_code": code}
               for code, code_dept in zip(codes, _providers(ctx, codes))]
    departments = list(dict.fromkeys(p["department"] for p in parties))
    if len(departments) < 2:
        raise InvalidForm({"resources": "资源须属于至少两个不同部门（第十九条） (the resources must "
                                        "belong to two different departments or more, art. 19)"})
    started = ctx.engine.receipt_date(ctx.session, ctx.now).isoformat()
    return {**cleaned, "records": cleaned.get("records", ""), "parties": parties, "departments": departments,
            # one list per multi-instance task: see tools/diagrams/inconsistency_arbitration.py
            "position_departments": list(departments), "negotiation_departments": list(departments),
            "arbitration_started": started}


def _providers(ctx, codes: list[str]) -> list[str]:
    found, unknown = [], []
    for code in codes:
        try:
            found.append(catalog.get_resource(ctx.session, code).department.code)
        except NotFound:
            unknown.append(code)
    if unknown:
        raise InvalidForm({"resources": f"目录中没有已发布的资源 {'、'.join(unknown)} "
                                        f"(no published resource {', '.join(unknown)})"})
    return found


def title(data: dict) -> str:
    return "数据不一致协调：" + "、".join(p["resource_code"] for p in data.get("parties", []))


def form_options(ctx, element_id: str, data: dict) -> dict:
    """The authority chooses among the departments involved."""
    if element_id != "authority_decide":
        return {}
    return {"prevailing_department": [(code, _name(ctx, code)) for code in data.get("departments", [])]}


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


def _negotiate(ctx, data: dict, cleaned: dict) -> dict:
    """The department accepts the resolution or says why not; its stated position stays as it was."""
    if not cleaned["agree"] and not cleaned.get("note"):
        raise InvalidForm({"note": "不同意时须说明理由 (say why the department disagrees)"})
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


ON_SUBMIT = {"state_position": _state_position, "negotiate": _negotiate,
             "authority_decide": _authority_decide, "correct": _correct}


# -- diagram functions -----------------------------------------------------------------------------

def create_report(ctx, case_id: int, parties: list[dict], description: str, records_text: str = "") -> int:
    """Register the inconsistency report of this case; return its id."""
    text = f"{description}\n涉及记录：{records_text}" if records_text else description
    report = records.create_inconsistency_report(
        ctx.uow, description=text, involved=[(p["department"], p["resource_code"]) for p in parties],
        actor=ctx.actor, now=ctx.now, reporter_dept_code=ctx.actor.department, case_id=case_id)
    return report.id


def all_agreed(ctx, report_id: int) -> bool:
    """Has every department involved accepted the resolution?"""
    return all(p.agreed for p in _report(ctx, report_id).parties)


def settle_agreed(ctx, report_id: int) -> tuple[str, list[str]]:
    """Every department agreed: settle as ``agreed``; those that said their data is wrong correct it."""
    answers = _answers(ctx, "negotiate")
    wrong = [dept for dept, answer in answers.items() if answer.get("must_change")]
    decision = "各部门协商一致。" + "；".join(f"{_name(ctx, dept)}：{answer.get('note') or '同意'}"
                                       for dept, answer in answers.items())
    records.decide_inconsistency(ctx.uow, report_id, "agreed", decision, wrong, ctx.actor, ctx.now)
    return "agreed", wrong


def decide_by_authority(ctx, report_id: int, prevailing: str, must_correct: str,
                        decision: str) -> tuple[str, list[str]]:
    """The authority's decision (art. 19): whose value stands and who corrects."""
    departments = list(dict.fromkeys(p.department.code for p in _report(ctx, report_id).parties))
    wrong = _must_correct(departments, prevailing, must_correct)
    text = f"采信{_name(ctx, prevailing)}（{prevailing}）的数据。{decision}"
    records.decide_inconsistency(ctx.uow, report_id, "decided", text, wrong, ctx.actor, ctx.now)
    return "decided", wrong


FUNCTIONS = {
    **COMMON,
    "create_report": create_report,
    "all_agreed": all_agreed,
    "settle_agreed": settle_agreed,
    "decide_by_authority": decide_by_authority,
}


# -- helpers ---------------------------------------------------------------------------------------

def _lines(text: str) -> list[str]:
    return list(dict.fromkeys(line.strip() for line in (text or "").splitlines() if line.strip()))


def _name(ctx, dept_code: str) -> str:
    return org.department_by_code(ctx.session, dept_code).name


def _report(ctx, report_id: int) -> records.InconsistencyReport:
    return ctx.session.get(records.InconsistencyReport, report_id)


def _must_correct(departments: list[str], prevailing: str, text: str) -> list[str]:
    """The departments listed, or by default every department but the one whose value stands."""
    codes = _lines(text) or [d for d in departments if d != prevailing]
    unknown = [c for c in codes if c not in departments]
    if unknown:
        raise InvalidForm({"must_correct": f"{'、'.join(unknown)} 不是本案涉及的部门 "
                                           f"(not a department involved: {', '.join(unknown)})"})
    if prevailing in codes:
        raise InvalidForm({"must_correct": "被采信部门的数据无须更正 (the prevailing department does not correct)"})
    return codes


def _answers(ctx, element_id: str) -> dict[str, dict]:
    """Department -> form data of the completed instances of a multi-instance task."""
    done = ctx.workflow.get_tasks(state=TaskState.COMPLETED, manual=True)
    return {t.data["department"]: t.data for t in done if t.task_spec.bpmn_id == element_id}
