"""共享申请 (share application, arts. 14–17): the diagram of docs/procedures.md section 2.

Main path: register → 无条件共享 granted at once (art. 17) / 有条件共享 reviewed by the provider /
不予共享 explained by the provider, both within 5 working days of receipt (art. 17) → after a refusal
the applicant accepts it or asks the authority to coordinate (art. 14 ¶3) → the authority upholds
it or orders the share, which the provider then grants → the grant expires with its period.

Periods (workflows/share_application.py ``PERIODS``, docs/deadlines/share_application.md): every
timer comes from ``tools.diagrams.periods``. The provider asking for materials (补正) hands the case
to the applicant: the provider's period closes, the applicant's ``supplement`` period opens, and the
complete materials open a fresh provider's period from their receipt; an applicant silent past it
has withdrawn (an interrupting timer). The provider's late periods are escalated (督办, art. 31
item 3, once per period); the authority's own late coordination is only marked late.
"""
from __future__ import annotations

from tools.bpmn_builder import Diagram, Field
from workflows.diagram_periods import escalation, late_mark, watch

C, P, A = "consumer_clerk", "provider_clerk", "authority"
PROVIDER = {"department": "provider_department"}  # the case-data variables holding department codes
CONSUMER = {"department": "consumer_department"}
# No 退回 (engine/returns.py) from the request for materials: the applicant answers it by supplying
# them or withdrawing (a return would re-open the provider's review as a fresh period by the
# applicant's act and lift the once-only rule).
NOT_RETURNABLE = {"returnable": "false"}
GRANT_TERMS = [
    Field("granted_items", "授权的数据项（每行一项，留空为申请的全部数据项）", "textarea"),
    Field("valid_from", "授权起始日（留空为申请的起始日）", "date"),
    Field("valid_until", "授权截止日（留空为申请的截止日）", "date"),
    Field("usage_limits", "使用限制", "textarea", maxlength=2000),
]


def build() -> Diagram:
    d = Diagram("share_application", "共享申请", documentation=(
        "政务数据使用部门提出共享申请（第十四条、第十七条）：无条件共享直接授权；有条件共享由提供部门在5个工作日内"
        "授权或说明理由和依据；不予共享由提供部门在5个工作日内说明理由。提供部门要求补充材料的，补正期间"
        "提供部门的期限停止计算，收到完整材料之日起重新计算；申请部门逾期不补正的，视为撤回申请。"
        "不予共享后可申请主管部门统筹协调（第十四条第三款）。"))
    d.lane(C, "数据使用部门", rows=3)
    d.lane(P, "数据提供部门", rows=3)
    d.lane(A, "政务数据资源主管部门", rows=4)
    _apply(d)
    _review(d)
    _supplement(d)
    _explanation(d)
    _refusal(d)
    _coordination(d)
    _grant(d)
    _periods(d)
    return d


def _apply(d: Diagram) -> None:
    d.start("start", "提交共享申请", lane=C, col=0)
    d.script_task("register", "登记共享申请", lane=C, col=1, script=(
        "application_id = register_application(resource_code, consumer_department, provider_department, "
        "data_items, scenario, period_from, period_until, materials)"))
    d.exclusive_gateway("gw_share_type", "共享类型", lane=C, col=2, default="f_type_none")
    d.script_task("grant_unconditional", "无条件共享：直接授权", lane=P, col=3, row=1,
                  script="grant_id = grant_unconditional(application_id)")
    d.flow("f_start", "start", "register")
    d.flow("f_registered", "register", "gw_share_type")
    d.flow("f_type_unconditional", "gw_share_type", "grant_unconditional", "无条件共享",
           condition='share_type == "unconditional"')
    d.flow("f_type_conditional", "gw_share_type", "provider_review", "有条件共享",
           condition='share_type == "conditional"')
    d.flow("f_type_none", "gw_share_type", "provider_explanation", "不予共享")
    d.flow("f_unconditional_granted", "grant_unconditional", "wait_grant_end")


def _review(d: Diagram) -> None:
    d.user_task("provider_review", "审核共享申请", lane=P, col=3, candidate_groups=P, properties=PROVIDER, form=[
        Field("decision", "审核结论", "enum", required=True, values=[
            ("approve", "同意共享（授权）"), ("refuse", "不予共享"), ("ask_materials", "要求补充材料（限一次）")]),
        *GRANT_TERMS,
        Field("reason", "理由（不予共享的理由，或需补充的材料）", "textarea", maxlength=2000),
        Field("basis", "依据（不予共享的法律、行政法规或政策依据；授权依据）", "textarea", maxlength=2000)])
    d.exclusive_gateway("gw_review", "审核结论", lane=P, col=4, default="f_review_refused")
    d.script_task("approve", "登记授权", lane=P, col=5, script=(
        "grant_id = approve_application(application_id, granted_items, valid_from, valid_until, usage_limits, basis)"))
    d.script_task("record_refusal", "登记不予共享", lane=P, col=5, row=1,
                  script="refused = refuse_application(application_id, reason, basis)")
    d.flow("f_reviewed", "provider_review", "gw_review")
    d.flow("f_review_approved", "gw_review", "approve", "同意", condition='decision == "approve"')
    d.flow("f_review_materials", "gw_review", "supplement_materials", "补充材料",
           condition='decision == "ask_materials"')
    d.flow("f_review_refused", "gw_review", "record_refusal", "不予共享")
    d.flow("f_approved", "approve", "wait_grant_end")
    d.flow("f_refused", "record_refusal", "after_refusal")


def _supplement(d: Diagram) -> None:
    """补正: the applicant supplies the materials or withdraws; silence past its period withdraws."""
    d.user_task("supplement_materials", "补充材料或撤回申请", lane=C, col=4, row=1, candidate_groups=C,
                properties={**CONSUMER, **NOT_RETURNABLE}, form=[
                    Field("reason", "提供部门要求补充的材料", "textarea", readonly=True),
                    Field("supplement_action", "办理方式", "enum", required=True,
                          values=[("supplement", "补充材料"), ("withdraw", "撤回申请")]),
                    Field("materials", "补充的材料（每行一项）", "textarea")])
    d.exclusive_gateway("gw_supplement", "补充还是撤回", lane=C, col=5, row=1, default="f_withdraw")
    d.script_task("record_supplement", "登记补充材料", lane=C, col=6, row=1,
                  script="supplemented_on = supplement_materials(application_id, materials)")
    d.script_task("withdraw", "撤回申请", lane=C, col=6, row=2,
                  script="withdrawn = withdraw_application(application_id)")
    d.end("end_withdrawn", "已撤回", lane=C, col=7, row=2, properties={"outcome": "withdrawn"})
    d.script_task("lapse_supplement", "逾期未补正：视为撤回", lane=C, col=4, row=2,
                  script="withdrawn = withdraw_for_silence(application_id)")
    d.end("end_lapsed", "视为撤回", lane=C, col=5, row=2, properties={"outcome": "withdrawn"})
    d.flow("f_supplement_done", "supplement_materials", "gw_supplement")
    d.flow("f_supplement", "gw_supplement", "record_supplement", "补充材料",
           condition='supplement_action == "supplement"')
    d.flow("f_withdraw", "gw_supplement", "withdraw", "撤回")
    d.flow("f_supplemented", "record_supplement", "provider_review")
    d.flow("f_withdrawn", "withdraw", "end_withdrawn")
    d.flow("f_lapsed", "lapse_supplement", "end_lapsed")


def _explanation(d: Diagram) -> None:
    d.user_task("provider_explanation", "说明不予共享理由", lane=P, col=3, row=2, candidate_groups=P,
                properties=PROVIDER, form=[
                    Field("reason", "不予共享理由", "textarea", required=True, maxlength=2000),
                    Field("basis", "法律、行政法规或政策依据", "textarea", required=True, maxlength=2000)])
    d.script_task("record_explanation", "登记不予共享理由", lane=P, col=4, row=2,
                  script="refused = refuse_application(application_id, reason, basis)")
    d.flow("f_explained", "provider_explanation", "record_explanation")
    d.flow("f_explanation_recorded", "record_explanation", "after_refusal")


def _refusal(d: Diagram) -> None:
    d.user_task("after_refusal", "接受结果或申请协调", lane=C, col=7, candidate_groups=C,
                properties=CONSUMER, form=[
                    Field("reason", "不予共享理由", "textarea", readonly=True),
                    Field("basis", "不予共享依据", "textarea", readonly=True),
                    Field("next_step", "办理方式", "enum", required=True, values=[
                        ("accept", "接受"), ("coordinate", "申请主管部门统筹协调（第十四条第三款）")]),
                    Field("coordination_request", "申请协调的理由", "textarea", maxlength=2000)])
    d.exclusive_gateway("gw_after_refusal", "是否申请协调", lane=C, col=8, default="f_accepted")
    d.end("end_refused", "不予共享", lane=C, col=13, properties={"outcome": "refused"})
    d.end("end_refusal_stands", "期满未申请协调", lane=C, col=8, row=1, properties={"outcome": "refused"})
    d.flow("f_refusal_answered", "after_refusal", "gw_after_refusal")
    d.flow("f_coordinate", "gw_after_refusal", "coordinate", "申请协调", condition='next_step == "coordinate"')
    d.flow("f_accepted", "gw_after_refusal", "end_refused", "接受")


def _coordination(d: Diagram) -> None:
    d.user_task("coordinate", "统筹协调", lane=A, col=10, candidate_groups=A, form=[
        Field("reason", "不予共享理由", "textarea", readonly=True),
        Field("basis", "不予共享依据", "textarea", readonly=True),
        Field("coordination_request", "使用部门申请协调的理由", "textarea", readonly=True),
        Field("coordination", "协调结果", "enum", required=True, values=[
            ("upheld", "维持不予共享"), ("share_ordered", "责成提供部门共享")]),
        Field("coordination_note", "协调意见", "textarea", required=True, maxlength=2000)])
    d.script_task("record_coordination", "登记协调结果", lane=A, col=11,
                  script="coordinated = coordinate(application_id, coordination, coordination_note)")
    d.exclusive_gateway("gw_coordination", "协调结果", lane=A, col=12, default="f_upheld")
    d.user_task("grant_ordered", "按协调意见授权", lane=P, col=13, candidate_groups=P, properties=PROVIDER, form=[
        Field("coordination_note", "协调意见", "textarea", readonly=True),
        *GRANT_TERMS,
        Field("basis", "授权依据（留空为协调意见）", "textarea", maxlength=2000)])
    d.script_task("approve_ordered", "登记授权", lane=P, col=14, script=(
        "grant_id = approve_application(application_id, granted_items, valid_from, valid_until, usage_limits, basis)"))
    d.flow("f_coordinated", "coordinate", "record_coordination")
    d.flow("f_coordination_recorded", "record_coordination", "gw_coordination")
    d.flow("f_share_ordered", "gw_coordination", "grant_ordered", "责成共享",
           condition='coordination == "share_ordered"')
    d.flow("f_upheld", "gw_coordination", "end_refused", "维持")
    d.flow("f_ordered_terms", "grant_ordered", "approve_ordered")
    d.flow("f_ordered_granted", "approve_ordered", "wait_grant_end")


def _grant(d: Diagram) -> None:
    d.intermediate_timer("wait_grant_end", "授权期满", lane=P, col=15, time_date="grant_end(grant_id)")
    d.script_task("expire", "授权到期", lane=P, col=16, script="grant_status = expire_grant(grant_id)")
    d.end("end_granted", "已授权", lane=P, col=17, properties={"outcome": "granted"})
    d.flow("f_grant_ended", "wait_grant_end", "expire")
    d.flow("f_expired", "expire", "end_granted")


def _periods(d: Diagram) -> None:
    """Who is timed, from when (workflows/share_application.py ``PERIODS``).

    The provider's 5 days (art. 17) run from the receipt of the application, and afresh from the
    receipt of the complete materials; late: one 督办 per period, art. 31 item 3 (拒绝政务数据共享).
    The applicant's supplement and its window to ask for coordination close the case when they pass
    (interrupting: withdrawn, refused). The authority's coordination is reminded and marked late;
    the provider's grant after the order is the department's again (督办, item 3).
    """
    watch(d, "provider_review", "review", reminded=(P, 2, 1))
    watch(d, "provider_explanation", "explanation", reminded=(P, 2, 2))
    watch(d, "supplement_materials", "supplement", reminded=(C, 3, 2), interrupting=True,
          overdue_name="逾期未补正")
    d.flow("f_supplement_lapsed", "supplement_materials_overdue", "lapse_supplement")
    watch(d, "after_refusal", "coordination_request", reminded=(C, 7, 1), interrupting=True,
          overdue_name="申请协调期满")
    d.flow("f_refusal_stands", "after_refusal_overdue", "end_refusal_stands")
    watch(d, "coordinate", "coordinate", reminded=(A, 10, 1))
    late_mark(d, "coordinate", lane=A, col=11, row=1)
    watch(d, "grant_ordered", "ordered_grant", reminded=(P, 13, 1))
    escalation(d, "provider_review", dept="provider_department", item=3, decide_period="review_supervise",
               col=3, row=0)
    escalation(d, "provider_explanation", dept="provider_department", item=3,
               decide_period="explanation_supervise", col=3, row=2)
    escalation(d, "grant_ordered", dept="provider_department", item=3, decide_period="ordered_grant_supervise",
               col=13, row=0)
