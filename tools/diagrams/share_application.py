"""共享申请 (share application, arts. 14–17): the diagram of procedures.md section 2."""
from __future__ import annotations

from tools.bpmn_builder import Diagram, Field

C, P, A = "consumer_clerk", "provider_clerk", "authority"
DUE = "workdays(rules.share_reply_days, received_on)"
REMIND = "remind_before(rules.share_reply_days, received_on)"


def build() -> Diagram:
    d = Diagram("share_application", "共享申请", documentation=(
        "政务数据使用部门提出共享申请（第十四条、第十七条）：无条件共享直接授权；有条件共享由提供部门在5个工作日内"
        "授权或说明理由和依据；不予共享由提供部门在5个工作日内说明理由。不予共享后可申请主管部门统筹协调。"))
    d.lane(C, "数据使用部门", rows=3)
    d.lane(P, "数据提供部门", rows=3)
    d.lane(A, "政务数据资源主管部门", rows=3)
    _apply(d)
    _review(d)
    _explanation(d)
    _refusal(d)
    _grant(d)
    _supervision(d, "provider_review", row=0, col=4, guarded=True)
    _supervision(d, "provider_explanation", row=2, col=10, guarded=False)
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
    d.user_task("provider_review", "审核共享申请", lane=P, col=3, candidate_groups=P,
                properties={"department": "provider_department"}, form=[
                    Field("decision", "审核结论", "enum", required=True, values=[
                        ("approve", "同意共享（授权）"), ("refuse", "不予共享"), ("ask_materials", "要求补充材料（限一次）")]),
                    Field("granted_items", "授权的数据项（每行一项，留空为申请的全部数据项）", "textarea"),
                    Field("valid_from", "授权起始日（留空为申请的起始日）", "date"),
                    Field("valid_until", "授权截止日（留空为申请的截止日）", "date"),
                    Field("usage_limits", "使用限制", "textarea", maxlength=2000),
                    Field("reason", "理由（不予共享的理由，或需补充的材料）", "textarea", maxlength=2000),
                    Field("basis", "依据（不予共享的法律、行政法规或政策依据；授权依据）", "textarea", maxlength=2000)])
    _deadline(d, "provider_review")
    d.exclusive_gateway("gw_review", "审核结论", lane=P, col=4, default="f_review_refused")
    d.script_task("approve", "登记授权", lane=P, col=5, script=(
        "grant_id = approve_application(application_id, granted_items, valid_from, valid_until, usage_limits, basis)"))
    d.script_task("record_refusal", "登记不予共享", lane=P, col=5, row=1,
                  script="refused = refuse_application(application_id, reason, basis)")
    d.user_task("supplement_materials", "补充材料或撤回申请", lane=C, col=4, row=1, candidate_groups=C,
                properties={"department": "consumer_department"}, form=[
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
    d.flow("f_reviewed", "provider_review", "gw_review")
    d.flow("f_review_approved", "gw_review", "approve", "同意", condition='decision == "approve"')
    d.flow("f_review_materials", "gw_review", "supplement_materials", "补充材料",
           condition='decision == "ask_materials"')
    d.flow("f_review_refused", "gw_review", "record_refusal", "不予共享")
    d.flow("f_approved", "approve", "wait_grant_end")
    d.flow("f_refused", "record_refusal", "after_refusal")
    d.flow("f_supplement_done", "supplement_materials", "gw_supplement")
    d.flow("f_supplement", "gw_supplement", "record_supplement", "补充材料",
           condition='supplement_action == "supplement"')
    d.flow("f_withdraw", "gw_supplement", "withdraw", "撤回")
    d.flow("f_supplemented", "record_supplement", "provider_review")
    d.flow("f_withdrawn", "withdraw", "end_withdrawn")


def _explanation(d: Diagram) -> None:
    d.user_task("provider_explanation", "说明不予共享理由", lane=P, col=3, row=2, candidate_groups=P,
                properties={"department": "provider_department"}, form=[
                    Field("reason", "不予共享理由", "textarea", required=True, maxlength=2000),
                    Field("basis", "法律、行政法规或政策依据", "textarea", required=True, maxlength=2000)])
    _deadline(d, "provider_explanation")
    d.script_task("record_explanation", "登记不予共享理由", lane=P, col=4, row=2,
                  script="refused = refuse_application(application_id, reason, basis)")
    d.flow("f_explained", "provider_explanation", "record_explanation")
    d.flow("f_explanation_recorded", "record_explanation", "after_refusal")


def _refusal(d: Diagram) -> None:
    d.user_task("after_refusal", "接受结果或申请协调", lane=C, col=7, candidate_groups=C,
                properties={"department": "consumer_department"}, form=[
                    Field("reason", "不予共享理由", "textarea", readonly=True),
                    Field("basis", "不予共享依据", "textarea", readonly=True),
                    Field("next_step", "办理方式", "enum", required=True, values=[
                        ("accept", "接受"), ("coordinate", "申请主管部门统筹协调（第十四条第三款）")]),
                    Field("coordination_request", "申请协调的理由", "textarea", maxlength=2000)])
    d.exclusive_gateway("gw_after_refusal", "是否申请协调", lane=C, col=8, default="f_accepted")
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
    d.user_task("grant_ordered", "按协调意见授权", lane=P, col=13, candidate_groups=P,
                properties={"department": "provider_department"}, form=[
                    Field("coordination_note", "协调意见", "textarea", readonly=True),
                    Field("granted_items", "授权的数据项（每行一项，留空为申请的全部数据项）", "textarea"),
                    Field("valid_from", "授权起始日（留空为申请的起始日）", "date"),
                    Field("valid_until", "授权截止日（留空为申请的截止日）", "date"),
                    Field("usage_limits", "使用限制", "textarea", maxlength=2000),
                    Field("basis", "授权依据（留空为协调意见）", "textarea", maxlength=2000)])
    d.script_task("approve_ordered", "登记授权", lane=P, col=14, script=(
        "grant_id = approve_application(application_id, granted_items, valid_from, valid_until, usage_limits, basis)"))
    d.end("end_refused", "不予共享", lane=C, col=13, properties={"outcome": "refused"})
    d.flow("f_refusal_answered", "after_refusal", "gw_after_refusal")
    d.flow("f_coordinate", "gw_after_refusal", "coordinate", "申请协调", condition='next_step == "coordinate"')
    d.flow("f_accepted", "gw_after_refusal", "end_refused", "接受")
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


def _deadline(d: Diagram, task: str) -> None:
    """The statutory reply period of art. 17, counted from receipt: a reminder and the overdue escalation."""
    d.boundary_timer(f"{task}_reminder", "到期提醒", attached_to=task, time_date=REMIND, kind="reminder")
    d.boundary_timer(f"{task}_overdue", "超期", attached_to=task, time_date=DUE, kind="overdue")
    d.end(f"{task}_reminded", "已提醒", lane=P, col=2, row=1 if task == "provider_review" else 2)
    d.flow(f"f_{task}_remind", f"{task}_reminder", f"{task}_reminded")


def _supervision(d: Diagram, task: str, *, row: int, col: int, guarded: bool) -> None:
    """Overdue: a 督办 for the authority, who opens a rectification (art. 31 item 3) or dismisses it."""
    escalate, decide, gw = f"{task}_escalate", f"{task}_supervise", f"{task}_gw_supervise"
    if guarded:  # the review re-opens after supplied materials with the same due date: one 督办 only
        d.exclusive_gateway(f"{task}_gw_once", "已督办？", lane=A, col=col, row=row, default=f"f_{task}_first")
        d.end(f"{task}_supervised_before", "已督办", lane=A, col=col, row=row + 1)
        d.flow(f"f_{task}_overdue", f"{task}_overdue", f"{task}_gw_once")
        d.flow(f"f_{task}_again", f"{task}_gw_once", f"{task}_supervised_before", "已督办",
               condition="supervised_before()")
        d.flow(f"f_{task}_first", f"{task}_gw_once", escalate)
        col += 1
    else:
        d.flow(f"f_{task}_overdue", f"{task}_overdue", escalate)
    d.script_task(escalate, "超期督办", lane=A, col=col, row=row, script=(
        f'{task}_supervision = escalate_overdue("{task}", provider_department, 3)'))
    d.user_task(decide, "督办：是否立案整改", lane=A, col=col + 1, row=row, candidate_groups=A, form=[
        Field("decision", "督办决定", "enum", required=True,
              values=[("open", "立案整改（第三十一条第三项）"), ("dismiss", "不予立案")]),
        Field("note", "督办意见", "textarea", required=True, maxlength=2000)])
    d.exclusive_gateway(gw, "是否立案", lane=A, col=col + 2, row=row, default=f"f_{task}_dismiss")
    d.script_task(f"{task}_open", "立案整改", lane=A, col=col + 3, row=row,
                  script=f"rectification_case_id = open_rectification({task}_supervision)")
    d.script_task(f"{task}_dismiss", "不予立案", lane=A, col=col + 3, row=1,
                  script=f"dismissed = dismiss_supervision({task}_supervision, note)")
    d.end(f"{task}_supervised", "督办办结", lane=A, col=col + 4, row=row)
    d.flow(f"f_{task}_escalated", escalate, decide)
    d.flow(f"f_{task}_decided", decide, gw)
    d.flow(f"f_{task}_open", gw, f"{task}_open", "立案", condition='decision == "open"')
    d.flow(f"f_{task}_dismiss", gw, f"{task}_dismiss", "不予立案")
    d.flow(f"f_{task}_opened", f"{task}_open", f"{task}_supervised")
    d.flow(f"f_{task}_dismissed", f"{task}_dismiss", f"{task}_supervised")
