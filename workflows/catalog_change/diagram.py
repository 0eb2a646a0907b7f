"""Diagram of procedure 1, 目录变更 (arts. 7, 8, 9, 15, 16): see docs/procedures.md section 1.

Main path: open the draft → update and the 数长's approval (15 working days from the change date,
art. 9, one period of the department) → report to the authority (3 working days from the approval,
art. 9) → the authority publishes it (art. 16). Returns go back to the update; a withdrawal discards
the draft. Periods and escalation: workflows/catalog_change.py ``PERIODS`` and docs/deadlines.md.
"""
from __future__ import annotations

from tools.bpmn_builder import Diagram, Field
from workflows.diagram_periods import escalation, late_mark, watch

PROVIDER = {"department": "department"}  # the case-data variable holding the department code
OPINION = dict(type="textarea", maxlength=2000)


def _shown(*pairs: tuple[str, str]) -> list[Field]:
    return [Field(field_id, label, "textarea", readonly=True) for field_id, label in pairs]


def build() -> Diagram:
    d = Diagram("catalog_change", "目录变更",
                documentation="政务部门履职依据的法律、法规、规章修改或职能变化后，更新并报送本部门政务数据资源目录"
                              "（《怀宁县政务数据资源管理暂行办法》第七、八、九、十五、十六条）")
    d.lane("provider_clerk", "数据提供部门经办人", rows=2)
    d.lane("dept_head", "数长（部门主要负责人）", rows=2)
    d.lane("authority", "政务数据资源主管部门", rows=4)
    _main_path(d)
    _periods(d)
    return d


def _main_path(d: Diagram) -> None:
    d.start("start", "发起目录变更", lane="provider_clerk", col=0)
    d.script_task("open_draft", "打开目录草稿", lane="provider_clerk", col=1,
                  script="draft_id = open_change_draft(department)")
    d.user_task("update_catalog", "更新部门目录", lane="provider_clerk", col=2,
                candidate_groups="provider_clerk", properties=PROVIDER, form=[
                    *_shown(("department_name", "部门"), ("basis_document", "变更依据")),
                    Field("change_date", "变更之日", "date", readonly=True),
                    *_shown(("head_opinion", "数长退回意见"), ("review_opinion", "主管部门退回意见")),
                    Field("change_summary", "变更内容说明（撤回时写明撤回理由）", required=True, **OPINION),
                    Field("action", "办理方式", "enum", required=True,
                          values=[("submit", "提交数长审核"), ("withdraw", "撤回本次变更")])])
    d.exclusive_gateway("gw_update", "提交还是撤回？", lane="provider_clerk", col=3, default="f_submit")
    d.script_task("withdraw", "撤回变更并丢弃草稿", lane="provider_clerk", col=4, row=1,
                  script="outcome = withdraw_change(draft_id)")
    d.end("withdrawn_end", "已撤回", lane="provider_clerk", col=5, row=1, properties={"outcome": "withdrawn"})
    d.user_task("internal_approval", "数长审核", lane="dept_head", col=4,
                candidate_groups="dept_head", properties=PROVIDER, form=[
                    *_shown(("change_summary", "变更内容说明"), ("basis_document", "变更依据")),
                    Field("head_decision", "审核结果", "enum", required=True,
                          values=[("approve", "同意报送"), ("return", "退回修改")]),
                    Field("head_opinion", "审核意见（退回时必填）", **OPINION)])
    d.exclusive_gateway("gw_head", "数长是否同意？", lane="dept_head", col=5, default="f_head_return")
    d.user_task("report", "报送主管部门", lane="provider_clerk", col=6,
                candidate_groups="provider_clerk", properties=PROVIDER, form=[
                    *_shown(("change_summary", "变更内容说明"), ("basis_document", "变更依据")),
                    Field("report_note", "报送说明", required=True, **OPINION)])
    d.user_task("authority_review", "主管部门审核", lane="authority", col=7,
                candidate_groups="authority", form=[
                    *_shown(("department_name", "部门"), ("change_summary", "变更内容说明"),
                            ("basis_document", "变更依据"), ("report_note", "报送说明")),
                    Field("review_decision", "审核结果", "enum", required=True,
                          values=[("approve", "通过并发布"), ("return", "退回修改")]),
                    Field("review_opinion", "审核意见（退回时必填）", **OPINION)])
    d.exclusive_gateway("gw_review", "主管部门是否通过？", lane="authority", col=8, default="f_review_return")
    d.script_task("publish", "注册发布新版目录", lane="authority", col=9,
                  script="outcome = publish_change(draft_id, basis_document)")
    d.end("published_end", "已发布", lane="authority", col=10, properties={"outcome": "published"})

    d.flow("f_start", "start", "open_draft")
    d.flow("f_open", "open_draft", "update_catalog")
    d.flow("f_update", "update_catalog", "gw_update")
    d.flow("f_withdraw", "gw_update", "withdraw", "撤回", condition='action == "withdraw"')
    d.flow("f_submit", "gw_update", "internal_approval", "提交")
    d.flow("f_withdrawn", "withdraw", "withdrawn_end")
    d.flow("f_head", "internal_approval", "gw_head")
    d.flow("f_head_approve", "gw_head", "report", "同意", condition='head_decision == "approve"')
    d.flow("f_head_return", "gw_head", "update_catalog", "退回")
    d.flow("f_report", "report", "authority_review")
    d.flow("f_review", "authority_review", "gw_review")
    d.flow("f_review_approve", "gw_review", "publish", "通过", condition='review_decision == "approve"')
    d.flow("f_review_return", "gw_review", "update_catalog", "退回")
    d.flow("f_publish", "publish", "published_end")


def _periods(d: Diagram) -> None:
    """The department's 15 days (art. 9) cover the clerk's update *and* the 数长's approval, from the
    change date (a return by the authority opens the 5 rework days from the return instead); the 3
    report days run from the approval; the authority's review has its own period (design). Overdue:
    one 督办 per period, art. 31 item 1 (未按要求编制目录: keeping the catalog is a catalog duty)."""
    for task, col in (("update_catalog", 2), ("internal_approval", 4)):
        lane = "provider_clerk" if task == "update_catalog" else "dept_head"
        watch(d, task, "update", start="change_date", reminded=(lane, col, 1))
    watch(d, "report", "report", reminded=("provider_clerk", 6, 1))
    watch(d, "authority_review", "review", reminded=("authority", 7, 1))
    late_mark(d, "authority_review", lane="authority", col=8, row=1)
    escalation(d, "update_catalog", dept="department", item=1, decide_period="update_supervise", col=1, row=2)
    escalation(d, "internal_approval", dept="department", item=1, decide_period="update_supervise", col=11, row=0)
    escalation(d, "report", dept="department", item=1, decide_period="report_supervise", col=7, row=2)
