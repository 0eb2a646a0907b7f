"""Functions every procedure's diagram may call: overdue escalation and the authority's decision on
its 督办 (opening a rectification, or dismissing; the decision itself is engine.verbs.supervision's,
shared with the supervision dashboard).

docs/procedures.md: when a statutory period passes, the task stays open, the authority gets a 督办
(supervision item), the case is marked overdue (the human-task projection does that), and a possible
violation (art. 31 items 1 or 3) is offered to the authority, whose confirmation starts a real
``rectification`` case.
"""
from __future__ import annotations

from engine import periods
from engine.deadlines import attached_timers  # noqa: F401  (re-exported for procedure modules)
from engine.deadlines import attached_user_tasks, is_timer, timer_kind
from engine.domain import catalog, violations
from engine.errors import GovflowError
from engine.messages import Message, msg
from engine.procedures import ScriptContext
from engine.uow import Actor
from engine.verbs import supervision as supervision_verbs
from SpiffWorkflow.util.task import TaskState

ESCALATION_ACTOR = Actor.system("escalation")


def ready_task(ctx, element_id: str):
    """The ready user task ``element_id`` of the running case (there is one at most per element)."""
    for task in ctx.workflow.get_tasks(state=TaskState.READY, manual=True):
        if task.task_spec.bpmn_id == element_id:
            return task
    raise GovflowError(msg("supervision.task_not_open", "task {element_id} is not open", element_id=element_id))


def escalate_overdue(ctx, element_id: str, dept_code: str, item: int = 3) -> int:
    """Open the 督办 for the overdue task ``element_id`` of department ``dept_code``; return its id,
    or 0 when its statutory period was escalated already (one 督办 per period, docs/deadlines.md: a
    later task of the same period entered late, or a 督办 dismissed for it, raises nothing new).

    ``item``: the art. 31 item the lateness may amount to (3: not updating / verifying / sharing in
    time; 1: catalog duties).
    """
    task = ready_task(ctx, element_id)
    period = period_of_task(ctx, task)
    if periods.escalated(period):
        return 0
    name = (ctx.services.periods_of(ctx.case.process_id)[period.name].title
            if period is not None else task.task_spec.bpmn_name or element_id)
    if period is not None and period.id is None:  # opened in this unit of work: the item refers to it
        ctx.session.flush()
    supervision = violations.open_supervision_item(
        ctx.uow, case_id=ctx.case.id, human_task_id=str(task.id), dept_code=dept_code,
        possible_violation_item=item, actor=ESCALATION_ACTOR, now=ctx.now,
        note=overdue_note(name, period),
        period_id=period.id if period is not None else None)
    if period is not None:
        period.supervision_id = supervision.id
    return supervision.id


def overdue_note(name: str, period) -> Message:
    """The note of a 督办: what is late and, for a statutory period, its article and last day."""
    if period is None:
        return msg("supervision.task_overdue", "{name}: overdue", name=name)
    return msg("supervision.period_overdue", "{name}: overdue (art. {article}, due {due_date})",
               name=name, article=period.article, due_date=period.due_date)


def dismissal_needs_reason() -> Message:
    """The refusal of a 督办 decision ``dismiss`` without a note (every procedure's supervise task)."""
    return msg("supervision.dismissal_needs_reason", "say why no rectification is needed")


def joined(name: str, values) -> dict[str, str]:
    """A list as message parameters: ``name`` joined for the English text, ``name_zh`` with 、 for
    the Chinese (a parameter is one value in every language)."""
    values = [str(v) for v in values]
    return {name: ", ".join(values), f"{name}_zh": "、".join(values)}


def period_of_task(ctx, task):
    """The statutory period a user task's overdue timer watches (None for a task-bound deadline)."""
    for timer in ctx.workflow.get_tasks():
        if not is_timer(timer) or timer_kind(timer) != "overdue":
            continue
        if any(t is task for t in attached_user_tasks(timer)):
            row = periods.period_of_meta(ctx.uow, ctx.case.id, timer._get_internal_data("deadline"))
            if row is not None:
                return row
    return None


def open_rectification(ctx, supervision_id: int, evidence: str = "") -> int:
    """The authority confirms a 督办 in the case: record the violation and start a ``rectification``
    case for it (engine.verbs.supervision.confirm_in, the dashboard's verb too).

    Confirmed already on the supervision dashboard: that case is the answer (the in-case decision
    task is still open then, and must not fail); dismissed there: refused, only dismissing is left."""
    return supervision_verbs.confirm_in(ctx, supervision_id, evidence, start_rectification, adopt=True)


def dismiss_supervision(ctx, supervision_id: int, note: str) -> bool:
    """The authority decides the lateness needs no rectification; the 督办 is closed with the reason
    (engine.verbs.supervision.dismiss_in; closed already on the supervision dashboard: nothing more
    to record)."""
    supervision_verbs.dismiss_in(ctx.uow, supervision_id, ctx.actor, ctx.now,
                                 note or msg("supervision.dismissed", "dismissed by the authority"), adopt=True)
    return True


def start_rectification(ctx, violation) -> int:
    """Start the ``rectification`` case of a confirmed violation (its start data and title), inside
    the running unit of work; the decision around it is engine.verbs.supervision's."""
    dept = violation.department
    return ctx.services.start_case_in(ctx.uow, "rectification", ctx.actor, {
        "violation_id": violation.id, "department": dept.code, "department_name": dept.name,
        "item": violation.item, "evidence": violation.evidence,
    }, title=f"违规整改：{dept.name}（第三十一条第{violation.item}项）", trusted=True)


def confirm_escalation(services, uow, supervision_id: int, actor: Actor, evidence: str = "") -> int:
    """Confirm a 督办 inside ``uow`` outside any case (no earlier decision adopted)."""
    ctx = ScriptContext(services, uow.session, None, actor, services.clock.now(), {}, uow=uow)
    return supervision_verbs.confirm_in(ctx, supervision_id, evidence, start_rectification)


def provider_of(ctx, resource_code: str) -> str:
    """The code of the department that provides a published resource."""
    return catalog.get_resource(ctx.session, resource_code).department.code


FUNCTIONS = {
    "escalate_overdue": escalate_overdue,
    "open_rectification": open_rectification,
    "dismiss_supervision": dismiss_supervision,
    "provider_of": provider_of,
}
