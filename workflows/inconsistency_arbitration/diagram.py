"""不一致协调 (arts. 13, 19): departments state positions, the lead department proposes a resolution
every other department accepts, or the authority decides; the departments found wrong correct their
data and the authority confirms the corrections. See docs/procedures.md section 4.

Periods (workflows/inconsistency_arbitration.py ``PERIODS``, docs/deadlines/inconsistency_arbitration.md):

* ``negotiation`` (art. 19, design: ``negotiation_days`` from the receipt of the report, the start
  of arbitration) watches the
  departments' positions, the lead department's proposal and the others' acceptance. When it passes,
  the path changes: its overdue timers INTERRUPT the open step and hand the case to the authority
  (art. 19: 不能形成一致意见的，由主管部门协调处理). No 督办 for it: the negotiation is the departments'
  joint obligation and its end has its own consequence.
* ``decide`` / ``confirm``: the authority's coordination and its confirmation of the corrections
  (``authority_decide_days``), reminded and marked late (``late_mark``), no 督办.
* ``correction`` (arts. 13, 19: ``correction_days`` from the agreement or decision) watches every
  correcting department's ``correct``; overdue → 督办, art. 31 item 3, against each department still
  correcting (``escalation``; ``instance_department`` names the late instance's own department).

ENGINE: a boundary timer on a multi-instance task is one timer for all instances, and the engine
notifies only the people of the first instance, and only while it is open. So reminders of
multi-instance tasks go through ``remind_instances`` (a script on the reminder branch) to tell the
departments of the other open instances; see the workflow module.
"""
from __future__ import annotations

from tools.bpmn_builder import Diagram, Field, MultiInstance
from workflows.diagram_periods import escalation, late_mark, watch

PROCESS_ID = "inconsistency_arbitration"
# Each multi-instance task iterates its own list (ENGINE: once a case is restored from the database,
# SpiffWorkflow's Camunda multi-instance appends each finished instance's item to its collection
# instead of writing it in place, so a list iterated twice would grow duplicates).
EACH_STATING = MultiInstance(collection="position_departments", element_variable="department")
EACH_NEGOTIATING = MultiInstance(collection="negotiation_departments", element_variable="department")
EACH_CORRECTING = MultiInstance(collection="correcting", element_variable="department")
OWN_DEPARTMENT = {"department": "department"}   # each instance is its own department's task
LEAD_DEPARTMENT = {"department": "lead_department"}
DOCUMENTATION = ("第十三条、第十九条：不同部门提供同一类别的政务数据不一致时，相关部门陈述意见，"
                 "由牵头部门提出一致意见（采信哪个部门的数据、哪些部门更正），其他部门逐一确认；"
                 "协商期（规则集 negotiation_days，自协调开始之日起算）内未形成一致意见的，"
                 "由主管部门协调决定。数据有误的部门在更正期限（correction_days，自一致意见或决定之日起算）"
                 "内更正，主管部门确认后办结。")

POSITION_FORM = [
    Field("position", "本部门意见：哪个值正确", "textarea", required=True, maxlength=2000),
    Field("evidence", "依据或证明材料", "textarea", maxlength=2000),
]
PROPOSAL_FORM = [
    Field("proposal_action", "办理方式", "enum", required=True,
          values=[("propose", "提出一致意见，请其他部门确认"), ("escalate", "无法协商一致，提请主管部门协调")]),
    Field("proposed_prevailing", "采信哪个部门的数据", "enum", properties={"options": "dynamic"}),
    Field("proposed_correcting", "须更正的部门代码（每行一个；留空则为采信部门以外的所有部门）", "textarea",
          maxlength=1000),
    Field("resolution_text", "一致意见：正确的值及依据，各部门更正什么", "textarea", maxlength=2000),
    Field("proposal_note", "提请协调的理由（提请主管部门协调时必填）", "textarea", maxlength=2000),
]
AGREEMENT_FORM = [
    Field("proposal_summary", "牵头部门提出的一致意见", "textarea", readonly=True),
    Field("agree", "是否同意该一致意见", "boolean", required=True),
    Field("note", "协商意见说明（不同意时必填）", "textarea", maxlength=2000),
]
DECISION_FORM = [
    Field("prevailing_department", "采信哪个部门的数据", "enum", required=True,
          properties={"options": "dynamic"}),
    Field("must_correct", "须更正的部门代码（每行一个；留空则为采信部门以外的所有部门）", "textarea",
          maxlength=1000),
    Field("decision", "协调处理意见", "textarea", required=True, maxlength=2000),
]
CORRECTION_FORM = [
    Field("resolution_summary", "一致意见或协调决定", "textarea", readonly=True),
    Field("correction_note", "更正情况", "textarea", required=True, maxlength=2000),
]
CONFIRM_FORM = [
    Field("resolution_summary", "一致意见或协调决定", "textarea", readonly=True),
    Field("confirm_note", "确认意见", "textarea", required=True, maxlength=2000),
]


def build() -> Diagram:
    d = Diagram(PROCESS_ID, "不一致协调", documentation=DOCUMENTATION)
    d.lane("authority", "政务数据资源主管部门", rows=4)
    d.lane("provider", "数据提供部门", rows=3)
    _report(d)
    _negotiation(d)
    _authority(d)
    _corrections(d)
    _periods(d)
    return d


def _report(d: Diagram) -> None:
    d.start("start", "报告数据不一致", lane="authority", col=0)
    d.script_task("register", "登记不一致报告", lane="authority", col=1,
                  script="report_id = create_report(case_id, parties, description, records)")
    d.user_task("state_position", "陈述本部门意见", lane="provider", col=2,
                candidate_groups="provider_clerk", properties=OWN_DEPARTMENT, form=POSITION_FORM,
                multi_instance=EACH_STATING)
    d.flow("f_start", "start", "register")
    d.flow("f_register", "register", "state_position")
    d.flow("f_positions", "state_position", "propose_resolution")


def _negotiation(d: Diagram) -> None:
    d.user_task("propose_resolution", "提出一致意见", lane="provider", col=3,
                candidate_groups="provider_clerk", properties=LEAD_DEPARTMENT, form=PROPOSAL_FORM)
    d.exclusive_gateway("gw_proposed", "是否提出一致意见", lane="provider", col=4, default="f_no_proposal")
    d.user_task("negotiate", "确认一致意见", lane="provider", col=5,
                candidate_groups="provider_clerk", properties=OWN_DEPARTMENT, form=AGREEMENT_FORM,
                multi_instance=EACH_NEGOTIATING)
    d.exclusive_gateway("gw_agreed", "各部门是否一致同意", lane="provider", col=6, default="f_disagreed")
    d.script_task("settle_agreed", "登记一致意见", lane="provider", col=7,
                  script="outcome, correcting, resolution = settle_agreed(report_id, proposed_prevailing, "
                         "proposed_codes, proposal_summary)")
    d.flow("f_proposed", "propose_resolution", "gw_proposed")
    d.flow("f_proposal", "gw_proposed", "negotiate", "提出一致意见", condition='proposal_action == "propose"')
    d.flow("f_no_proposal", "gw_proposed", "authority_decide", "提请协调")
    d.flow("f_negotiated", "negotiate", "gw_agreed")
    d.flow("f_all_agreed", "gw_agreed", "settle_agreed", "一致同意", condition="all_agreed(report_id)")
    d.flow("f_disagreed", "gw_agreed", "authority_decide", "有部门不同意")
    d.flow("f_settled", "settle_agreed", "correct")


def _authority(d: Diagram) -> None:
    d.script_task("negotiation_lapsed", "协商期满未形成一致意见", lane="authority", col=5,
                  script="negotiation_lapsed_by = negotiation_lapsed(report_id, lead_department, "
                         "negotiation_departments)")
    d.user_task("authority_decide", "主管部门协调决定", lane="authority", col=7,
                candidate_groups="authority", form=DECISION_FORM)
    d.script_task("record_decision", "登记协调决定", lane="authority", col=8,
                  script="outcome, correcting, resolution = decide_by_authority(report_id, prevailing_department, "
                         "must_correct, decision)")
    d.flow("f_lapsed", "negotiation_lapsed", "authority_decide")
    d.flow("f_decide", "authority_decide", "record_decision")
    d.flow("f_decided", "record_decision", "correct")


def _corrections(d: Diagram) -> None:
    d.user_task("correct", "更正本部门数据", lane="provider", col=9,
                candidate_groups="provider_clerk", properties=OWN_DEPARTMENT, form=CORRECTION_FORM,
                multi_instance=EACH_CORRECTING)
    d.user_task("authority_confirm", "确认更正情况", lane="authority", col=10,
                candidate_groups="authority", form=CONFIRM_FORM)
    d.exclusive_gateway("gw_outcome", "协调方式", lane="authority", col=11, default="f_end_decided")
    # The case outcome is the ``outcome`` variable the settling scripts set (ENGINE: the end event's
    # outcome property is not read first, and a reminder's end event can be taken for the case's last end).
    d.end("end_agreed", "协商一致", lane="authority", col=12, properties={"outcome": "agreed"})
    d.end("end_decided", "主管部门协调决定", lane="authority", col=12, row=1, properties={"outcome": "decided"})
    d.flow("f_corrected", "correct", "authority_confirm")
    d.flow("f_confirmed", "authority_confirm", "gw_outcome")
    d.flow("f_end_agreed", "gw_outcome", "end_agreed", "协商一致", condition='outcome == "agreed"')
    d.flow("f_end_decided", "gw_outcome", "end_decided", "主管部门决定")


def _periods(d: Diagram) -> None:
    """The negotiation period (interrupting, to the authority), the authority's two periods (late
    marked), the correction period (督办, art. 31 item 3)."""
    # Day 0 is the receipt of the report: the period opens as the case starts (no ``start`` date, so
    # that a receipt in an unpublished year is found again when the year is published).
    for task, col in (("state_position", 2), ("negotiate", 5)):
        _remind_instances(d, task, "negotiation", col=col)
        watch(d, task, "negotiation", interrupting=True, overdue_name="协商期满")
    watch(d, "propose_resolution", "negotiation", reminded=("provider", 3, 1), interrupting=True,
          overdue_name="协商期满")
    for task in ("state_position", "propose_resolution", "negotiate"):
        d.flow(f"f_{task}_lapsed", f"{task}_overdue", "negotiation_lapsed")

    watch(d, "authority_decide", "decide", reminded=("authority", 7, 1))
    late_mark(d, "authority_decide", lane="authority", col=8, row=1)
    watch(d, "authority_confirm", "confirm", reminded=("authority", 10, 1))
    late_mark(d, "authority_confirm", lane="authority", col=11, row=1)

    _remind_instances(d, "correct", "correction", col=9)
    watch(d, "correct", "correction")
    escalation(d, "correct", dept='instance_department("correct")', item=3, decide_period="correct_supervise",
               col=9, row=2)


def _remind_instances(d: Diagram, task: str, period: str, *, col: int) -> None:
    """The period's reminder on a multi-instance task, told to every open instance's department
    (ENGINE workaround, see the module doc): the timer ``watch`` would add, plus a script on its branch."""
    d.boundary_timer(f"{task}_reminder", "到期提醒", attached_to=task, time_date=f'period_reminder("{period}")',
                     kind="reminder")
    d.script_task(f"{task}_remind_all", "提醒各部门", lane="provider", col=col, row=1,
                  script=f'{task}_reminded_count = remind_instances("{task}", "{period}")')
    d.end(f"{task}_reminded", "已提醒", lane="provider", col=col, row=2)
    d.flow(f"f_{task}_remind", f"{task}_reminder", f"{task}_remind_all")
    d.flow(f"f_{task}_remind_all", f"{task}_remind_all", f"{task}_reminded")
