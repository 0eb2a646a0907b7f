"""不一致协调 (art. 19): departments state positions and negotiate; the authority decides otherwise.

The negotiation period (``rules.negotiation_days``) runs from the start of arbitration
(``arbitration_started``). Unlike the other procedures' deadlines, here the deadline changes the
path: its overdue timers INTERRUPT the open step and hand the case to the authority (art. 19:
不能形成一致意见的，由主管部门协调处理). The same period watches the positions step *(design)*, so
a department that never answers cannot stall the arbitration.
"""
from __future__ import annotations

from tools.bpmn_builder import Diagram, Field, MultiInstance

PROCESS_ID = "inconsistency_arbitration"
PERIOD = "rules.negotiation_days, arbitration_started"
# Each multi-instance task iterates its own list (ENGINE: once a case is restored from the database,
# SpiffWorkflow's Camunda multi-instance appends each finished instance's item to its collection
# instead of writing it in place, so a list iterated twice would grow duplicates).
EACH_STATING = MultiInstance(collection="position_departments", element_variable="department")
EACH_NEGOTIATING = MultiInstance(collection="negotiation_departments", element_variable="department")
EACH_CORRECTING = MultiInstance(collection="correcting", element_variable="department")
OWN_DEPARTMENT = {"department": "department"}   # each instance is its own department's task
DECIDED = 'outcome == "decided"'
DOCUMENTATION = ("第十九条：不同部门提供同一类别的政务数据不一致时，相关部门陈述意见并协商；"
                 "协商期（规则集 negotiation_days，自协调开始之日起算）内各部门一致同意的，"
                 "数据有误的部门更正；有部门不同意或期满未协商一致的，由主管部门协调决定，"
                 "相关部门更正后由主管部门确认。")

POSITION_FORM = [
    Field("position", "本部门意见：哪个值正确", "textarea", required=True, maxlength=2000),
    Field("evidence", "依据或证明材料", "textarea", maxlength=2000),
]
AGREEMENT_FORM = [
    Field("agree", "是否同意协商形成的一致意见", "boolean", required=True),
    Field("must_change", "按一致意见本部门数据是否需要更正", "boolean"),
    Field("note", "协商意见说明（不同意时必填）", "textarea", maxlength=2000),
]
DECISION_FORM = [
    Field("prevailing_department", "采信哪个部门的数据", "enum", required=True,
          properties={"options": "dynamic"}),
    Field("must_correct", "须更正的部门代码（每行一个；留空则为采信部门以外的所有部门）", "textarea",
          maxlength=1000),
    Field("decision", "协调处理意见", "textarea", required=True, maxlength=2000),
]
CORRECTION_FORM = [Field("correction_note", "更正情况", "textarea", required=True, maxlength=2000)]
CONFIRM_FORM = [Field("confirm_note", "确认意见", "textarea", required=True, maxlength=2000)]


def build() -> Diagram:
    d = Diagram(PROCESS_ID, "不一致协调", documentation=DOCUMENTATION)
    d.lane("authority", "政务数据资源主管部门")
    d.lane("provider", "数据提供部门")
    _report(d)
    _negotiation(d)
    _authority(d)
    _corrections(d)
    return d


def _report(d: Diagram) -> None:
    d.start("start", "报告数据不一致", lane="authority", col=0)
    d.script_task("register", "登记不一致报告", lane="authority", col=1,
                  script="report_id = create_report(case_id, parties, description, records)")
    d.user_task("state_position", "陈述本部门意见", lane="provider", col=2,
                candidate_groups="provider_clerk", properties=OWN_DEPARTMENT, form=POSITION_FORM,
                multi_instance=EACH_STATING)
    _deadline(d, "state_position", "position", col=2)
    d.flow("f_start", "start", "register")
    d.flow("f_register", "register", "state_position")
    d.flow("f_positions", "state_position", "negotiate")


def _negotiation(d: Diagram) -> None:
    d.user_task("negotiate", "协商并确认一致意见", lane="provider", col=3,
                candidate_groups="provider_clerk", properties=OWN_DEPARTMENT, form=AGREEMENT_FORM,
                multi_instance=EACH_NEGOTIATING)
    _deadline(d, "negotiate", "negotiation", col=3)
    d.exclusive_gateway("gw_agreed", "各部门是否一致同意", lane="provider", col=4, default="f_disagreed")
    d.script_task("settle_agreed", "登记协商一致结果", lane="provider", col=5,
                  script="outcome, correcting = settle_agreed(report_id)")
    d.flow("f_negotiated", "negotiate", "gw_agreed")
    d.flow("f_all_agreed", "gw_agreed", "settle_agreed", "一致同意", condition="all_agreed(report_id)")
    d.flow("f_disagreed", "gw_agreed", "authority_decide", "有部门不同意")
    d.flow("f_settled", "settle_agreed", "gw_any")


def _deadline(d: Diagram, task: str, prefix: str, col: int) -> None:
    """Reminder (non-interrupting) and the interrupting end of the negotiation period."""
    d.boundary_timer(f"{prefix}_reminder", "到期提醒", attached_to=task, kind="reminder",
                     time_date=f"remind_before({PERIOD})")
    d.boundary_timer(f"{prefix}_overdue", "协商期满", attached_to=task, kind="overdue", interrupting=True,
                     time_date=f"workdays({PERIOD})")
    d.end(f"{prefix}_reminded", "已提醒", lane="provider", col=col, row=1)
    d.flow(f"f_{prefix}_reminder", f"{prefix}_reminder", f"{prefix}_reminded")
    d.flow(f"f_{prefix}_overdue", f"{prefix}_overdue", "authority_decide")


def _authority(d: Diagram) -> None:
    d.user_task("authority_decide", "主管部门协调决定", lane="authority", col=6,
                candidate_groups="authority", form=DECISION_FORM)
    d.script_task("record_decision", "登记协调决定", lane="authority", col=7,
                  script="outcome, correcting = decide_by_authority(report_id, prevailing_department, "
                         "must_correct, decision)")
    d.flow("f_decide", "authority_decide", "record_decision")
    d.flow("f_decided", "record_decision", "correct")


def _corrections(d: Diagram) -> None:
    d.exclusive_gateway("gw_any", "是否有部门须更正", lane="provider", col=6, default="f_none")
    d.user_task("correct", "更正本部门数据", lane="provider", col=7,
                candidate_groups="provider_clerk", properties=OWN_DEPARTMENT, form=CORRECTION_FORM,
                multi_instance=EACH_CORRECTING)
    d.exclusive_gateway("gw_confirm", "协调方式", lane="provider", col=8, default="f_corrected_agreed")
    d.user_task("authority_confirm", "确认更正情况", lane="authority", col=9,
                candidate_groups="authority", form=CONFIRM_FORM)
    # The case outcome is the ``outcome`` variable the settling scripts set (ENGINE: the end event's
    # outcome property is not read, and a reminder's end event can be taken for the case's last end).
    d.end("end_agreed", "协商一致", lane="provider", col=8, row=1, properties={"outcome": "agreed"})
    d.end("end_decided", "主管部门协调决定", lane="authority", col=10, properties={"outcome": "decided"})
    d.flow("f_some", "gw_any", "correct", "须更正", condition="len(correcting) > 0")
    d.flow("f_none", "gw_any", "end_agreed", "无须更正")
    d.flow("f_corrected", "correct", "gw_confirm")
    d.flow("f_to_confirm", "gw_confirm", "authority_confirm", "主管部门决定", condition=DECIDED)
    d.flow("f_corrected_agreed", "gw_confirm", "end_agreed", "协商一致")
    d.flow("f_confirmed", "authority_confirm", "end_decided")
