"""Diagram of procedure 3, objection review and extension (复核, art. 18); see workflows/data_review.py.

Two branches run in parallel after the objection is registered: the provider's clerk verifies and
answers (terminate end: the answer closes the case), and the clerk may, once and before the period
ends, ask the department head for up to ``rules.review_extension_max_days`` more working days.
Periods and escalation: workflows/data_review.py ``PERIODS`` and docs/deadlines/data_review.md.
"""
from __future__ import annotations

from tools.bpmn_builder import Diagram, Field
from workflows.diagram_periods import escalation, watch

PROVIDER = {"department": "provider_department"}
REVIEW = "review"  # the department's one period of art. 18 (workflows/data_review.py PERIODS)


def build() -> Diagram:
    d = Diagram("data_review", "政务数据复核", participant_name="政务数据复核（第十八条）")
    d.lane("public", "复核申请人（使用部门或公众）")
    d.lane("provider_clerk", "数据提供部门经办人", rows=3)
    d.lane("dept_head", "数据提供部门负责人（数长）", rows=2)
    d.lane("authority", "县政务数据资源主管部门", rows=4)
    _receive(d)
    _answer(d)
    _extension(d)
    _periods(d)
    return d


def _receive(d: Diagram) -> None:
    d.start("start", "提出复核申请", lane="public", col=0)
    d.script_task("register", "登记复核申请并发放回执码", lane="public", col=1,
                  script="objection_id, receipt_code = register_objection()")
    d.parallel_gateway("fork", "同时办理", lane="provider_clerk", col=2)
    d.flow("f_start", "start", "register")
    d.flow("f_register", "register", "fork")


def _answer(d: Diagram) -> None:  # art. 18: verify and answer within the period
    d.user_task("verify_answer", "校核并答复", lane="provider_clerk", col=3,
                candidate_groups="provider_clerk", properties=PROVIDER, form=[
                    Field("record_ref", "有疑义的数据记录", readonly=True),
                    Field("description", "疑义或错误说明", "textarea", readonly=True),
                    Field("outcome", "复核结果", "enum", required=True,
                          values=[("corrected", "已更正"), ("confirmed", "经核无误")]),
                    Field("answer", "答复内容", "textarea", required=True, maxlength=5000),
                    Field("correction", "更正内容（已更正时必填）", "textarea", maxlength=5000)])
    d.script_task("record_answer", "登记答复结果", lane="provider_clerk", col=4,
                  script="record_answer(objection_id, outcome, answer, correction)")
    d.end("answered", "已答复", lane="provider_clerk", col=5, terminate=True)
    d.flow("f_answer", "fork", "verify_answer")
    d.flow("f_answered", "verify_answer", "record_answer")
    d.flow("f_recorded", "record_answer", "answered")


def _extension(d: Diagram) -> None:  # art. 18: once, approved by the department head
    d.user_task("request_extension", "申请延长复核期限", lane="provider_clerk", col=3, row=2,
                candidate_groups="provider_clerk", properties=PROVIDER, form=[
                    Field("extension_days", "延长工作日数", "long", required=True, min=1),
                    Field("extension_reason", "延期理由", "textarea", required=True, maxlength=2000)])
    d.end("not_requested", "未申请延期", lane="provider_clerk", col=4, row=1)
    d.script_task("record_request", "登记延期申请", lane="provider_clerk", col=4, row=2,
                  script="record_extension_request(objection_id, extension_days, extension_reason)")
    d.user_task("approve_extension", "审批延期申请", lane="dept_head", col=5,
                candidate_groups="dept_head", properties=PROVIDER, form=[
                    Field("extension_days", "申请延长工作日数", "long", readonly=True),
                    Field("extension_reason", "延期理由", "textarea", readonly=True),
                    Field("approve", "是否同意延期", "boolean", required=True),
                    Field("opinion", "审批意见", "textarea", maxlength=2000)])
    d.script_task("record_decision", "登记延期审批结果", lane="dept_head", col=6,
                  script="record_extension_decision(objection_id, approve)")
    d.exclusive_gateway("extension_approved", "是否同意延期", lane="dept_head", col=7, default="f_refused")
    d.script_task("extend", "延长复核期限", lane="dept_head", col=8,
                  script='extended_due_date = extend_deadline("verify_answer", extension_days)')
    d.end("extended", "期限已延长", lane="dept_head", col=9)
    d.end("not_extended", "期限不变", lane="dept_head", col=8, row=1)
    d.flow("f_request", "fork", "request_extension")
    d.flow("f_requested", "request_extension", "record_request")
    d.flow("f_to_head", "record_request", "approve_extension")
    d.flow("f_decided", "approve_extension", "record_decision")
    d.flow("f_decision", "record_decision", "extension_approved")
    d.flow("f_approved", "extension_approved", "extend", "同意", condition="approve == True")
    d.flow("f_refused", "extension_approved", "not_extended", "不同意")
    d.flow("f_extended", "extend", "extended")


def _periods(d: Diagram) -> None:
    """The department's one period of art. 18 (10 working days from the receipt of the objection)
    covers the clerk's answer, the clerk's request for an extension and the 数长's decision on it;
    an approved extension moves it (``extend_deadline`` moves the answer's timers, the period row
    follows). Reminded once, on the answer (whoever holds the answer is who must act); overdue: one
    督办 per period, art. 31 item 3 (未按规定核实、更新数据). The request lapses when the period ends
    (``request_window``: a window, not an escalation; held while the period is provisional)."""
    watch(d, "verify_answer", REVIEW, reminded=("provider_clerk", 3, 1))
    d.boundary_timer("request_window", "原期限届满", attached_to="request_extension",
                     time_date=f'period_due("{REVIEW}")', interrupting=True)
    d.flow("f_window", "request_window", "not_requested")
    watch(d, "approve_extension", REVIEW)
    escalation(d, "verify_answer", dept="provider_department", item=3, decide_period="review_supervise",
               col=3, row=0)
    escalation(d, "approve_extension", dept="provider_department", item=3, decide_period="review_supervise",
               col=5, row=2)
