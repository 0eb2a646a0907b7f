"""违规整改 (procedure 5, arts. 31 and 32): notice → rectify → order → public criticism → referral.

The department's periods change the path (art. 31 para. 2: 未在规定时限内完成整改的，由县政府责令限期
改正；逾期未改正的，给予通报批评), so their overdue timers interrupt the department's steps instead of
raising a 督办 beside them. The clerk's report and the 数长's signature are one period of the
department (the notice's or the order's days); a report the authority does not accept opens the
department's rework period from the rejection (docs/procedures.md §5 step 3: a report sent on time is never
late because the authority answered late). The authority's notice, verification and assessment and
the county government's order and criticism are timed too, reminded and marked late (no 督办, no
violation). Periods: workflows/rectification.py ``PERIODS`` and docs/deadlines/rectification.md.
"""
from __future__ import annotations

from dataclasses import dataclass

from tools.bpmn_builder import Diagram, Field
from workflows.diagram_periods import late_mark, watch

DEPT = {"department": "department"}  # the case-data variable holding the department's code

SIGN = [("approve", "同意报送"), ("return", "退回经办人修改")]
VERIFY = [("accepted", "整改到位，予以认可"), ("rejected", "整改不到位，退回继续整改")]
SERIOUS = [("yes", "情节严重，移送处分"), ("no", "情节不严重，结案")]


@dataclass(frozen=True)
class Round:
    """One rectify → sign → verify round under the period of a notice (1) or an order (2)."""

    n: str              # "" for the notice's round, "2" for the order's
    deadline: str       # "notice" or "order": the data prefix of requirements, days, on, due
    period: str         # the department's period (workflows/rectification.py PERIODS)
    col: int            # column of the rectify task
    verify_row: int     # the authority's row for verify and what follows (the next row: its ends)

    def id(self, name: str) -> str:
        return f"{name}{self.n}"


NOTICE = Round("", "notice", "rectify", col=5, verify_row=0)
ORDER = Round("2", "order", "correct", col=8, verify_row=2)
ASSESS_ROW = 4  # the authority's rows 4 and 5: the assessment after a criticism


def build() -> Diagram:
    d = Diagram("rectification", "违规整改", participant_name="违规整改（第三十一条、第三十二条）",
                documentation="主管部门通知整改；逾期未整改的由县政府责令限期改正；逾期仍未改正的通报批评，"
                              "情节严重的移送有权机关依法给予处分（第三十一条）。")
    d.lane("authority", "政务数据资源主管部门", rows=6)
    d.lane("provider_clerk", "责任部门经办人", rows=2)
    d.lane("dept_head", "责任部门数长", rows=2)
    d.lane("county_gov", "县人民政府", rows=2)
    d.lane("discipline", "处分决定机关")
    _notice(d)
    _round(d, NOTICE, "整改并报告", "数长签发整改报告", "核查整改情况")
    _order(d)
    _round(d, ORDER, "限期改正并报告", "数长签发改正报告", "核查改正情况")
    _criticism(d)
    return d


def _notice(d: Diagram) -> None:
    d.start("start", "登记违规行为", lane="authority", col=0)
    d.exclusive_gateway("gw_recorded", "违规已登记？", lane="authority", col=1, default="f_recorded")
    d.script_task("record", "登记违规记录", lane="authority", col=2, row=1,
                  script="violation_id = record_case_violation(department, item, evidence)")
    d.user_task("notice", "下达整改通知", lane="authority", col=3, candidate_groups="authority",
                form=_deadline_form("整改", "notice"))
    # design: the authority's notice_days from the recording of the violation (the case's start)
    watch(d, "notice", "notice", reminded=("authority", 3, 1))
    late_mark(d, "notice", lane="authority", col=4, row=1)
    d.script_task("issue_notice", "登记整改通知", lane="authority", col=4,
                  script="notice_due = issue_notice(violation_id, notice_requirements, notice_days)")
    d.flow("f_start", "start", "gw_recorded")
    d.flow("f_new", "gw_recorded", "record", "未登记", condition="violation_id is None")
    d.flow("f_recorded", "gw_recorded", "notice", "已登记")
    d.flow("f_record", "record", "notice")
    d.flow("f_notice", "notice", "issue_notice")
    d.flow("f_issued", "issue_notice", "rectify")


def _order(d: Diagram) -> None:
    d.user_task("order", "责令限期改正", lane="county_gov", col=6, candidate_groups="county_gov",
                form=[_info("notice_requirements", "整改要求"), _info("notice_due", "整改期限", "date"),
                      *_deadline_form("改正", "order")])
    # design: the county government orders within authority_decide_days of the missed period
    watch(d, "order", "order", reminded=("county_gov", 6, 1))
    _county_late(d, "order", col=7)
    d.script_task("issue_order", "登记责令改正", lane="county_gov", col=7,
                  script="order_due = issue_order(violation_id, order_requirements, order_days)")
    d.flow("f_rectify_late", "rectify_overdue", "order")
    d.flow("f_sign_late", "sign_overdue", "order")
    d.flow("f_order", "order", "issue_order")
    d.flow("f_ordered", "issue_order", "rectify2")


def _criticism(d: Diagram) -> None:
    d.user_task("criticism", "通报批评", lane="county_gov", col=9, candidate_groups="county_gov",
                form=[_info("order_requirements", "改正要求"), _info("order_due", "改正期限", "date"),
                      Field("criticism_text", "通报批评内容", "textarea", required=True, maxlength=5000)])
    watch(d, "criticism", "criticise", reminded=("county_gov", 9, 1))
    _county_late(d, "criticism", col=10)
    d.script_task("record_criticism", "登记通报批评", lane="county_gov", col=10,
                  script="criticised = record_criticism(violation_id, criticism_text)")
    row = ASSESS_ROW
    d.user_task("assess", "研判情节是否严重", lane="authority", col=11, row=row, candidate_groups="authority",
                form=[Field("serious", "情节是否严重", "enum", required=True, values=SERIOUS),
                      Field("serious_note", "研判意见", "textarea", required=True, maxlength=2000)])
    watch(d, "assess", "assess", reminded=("authority", 11, row + 1))
    late_mark(d, "assess", lane="authority", col=12, row=row + 1)
    d.exclusive_gateway("gw_serious", "情节严重？", lane="authority", col=12, row=row, default="f_not_serious")
    # Untimed on purpose (workflows/rectification.py): the disciplinary body's 处分.
    d.user_task("referral", "移送处分", lane="discipline", col=13, candidate_groups="discipline",
                form=[_info("serious_note", "主管部门研判意见"),
                      Field("responsible_persons", "直接负责的主管人员和其他直接责任人员", "textarea",
                            required=True, maxlength=2000),
                      Field("referral_decision", "处分决定", "textarea", required=True, maxlength=5000)])
    d.script_task("record_referral", "登记移送处分", lane="discipline", col=14,
                  script="outcome = record_referral(violation_id, responsible_persons, referral_decision)")
    d.end("end_referred", "已移送处分", lane="discipline", col=15, properties={"outcome": "referred"})
    d.script_task("close", "通报批评后结案", lane="authority", col=13, row=row,
                  script="outcome = close_after_criticism(violation_id, serious_note)")
    d.end("end_criticised", "已通报批评", lane="authority", col=14, row=row, properties={"outcome": "criticised"})
    d.flow("f_rectify2_late", "rectify2_overdue", "criticism")
    d.flow("f_sign2_late", "sign2_overdue", "criticism")
    d.flow("f_criticism", "criticism", "record_criticism")
    d.flow("f_criticised", "record_criticism", "assess")
    d.flow("f_assessed", "assess", "gw_serious")
    d.flow("f_is_serious", "gw_serious", "referral", "严重", condition='serious == "yes"')
    d.flow("f_not_serious", "gw_serious", "close", "不严重")
    d.flow("f_referral", "referral", "record_referral")
    d.flow("f_referred", "record_referral", "end_referred")
    d.flow("f_closed", "close", "end_criticised")


def _round(d: Diagram, r: Round, rectify: str, sign: str, verify: str) -> None:
    col, row = r.col, r.verify_row
    d.user_task(r.id("rectify"), rectify, lane="provider_clerk", col=col, candidate_groups="provider_clerk",
                properties=DEPT, form=_report_form(r))
    d.user_task(r.id("sign"), sign, lane="dept_head", col=col + 1, candidate_groups="dept_head",
                properties=DEPT, form=_sign_form(r))
    d.exclusive_gateway(r.id("gw_sign"), "是否签发？", lane="dept_head", col=col + 2, default=r.id("f_signed"))
    # No 退回 to the 数长: a report not accepted goes back by the rejection, which opens the rework
    # period and moves the violation's deadline (a return would reopen the signature without either).
    d.user_task(r.id("verify"), verify, lane="authority", col=col + 3, row=row, candidate_groups="authority",
                properties={"returnable": "false"}, form=_verify_form(r))
    d.exclusive_gateway(r.id("gw_verify"), "是否到位？", lane="authority", col=col + 4, row=row,
                        default=r.id("f_rejected"))
    d.script_task(r.id("rework"), "退回整改（重新起算）", lane="authority", col=col + 5, row=row + 1,
                  script=f"{r.deadline}_due = reopen_period(violation_id, \"{r.period}\")")
    d.script_task(r.id("rectified"), "确认整改完成", lane="authority", col=col + 5, row=row,
                  script=f"outcome = record_rectified(violation_id, {r.id('verify_opinion')})")
    d.end(r.id("end_rectified"), "已整改", lane="authority", col=col + 6, row=row,
          properties={"outcome": "rectified"})
    # art. 31: the clerk's report and the 数长's signature are the department's one period (the
    # notice's or the order's days); its end changes the path (interrupting).
    for task, lane, c in ((r.id("rectify"), "provider_clerk", col), (r.id("sign"), "dept_head", col + 1)):
        watch(d, task, r.period, days=f"{r.deadline}_days", reminded=(lane, c, 1), interrupting=True,
              overdue_name="期满")
    # design: the authority checks the report within verify_days of it; late: marked, no 督办
    watch(d, r.id("verify"), "verify", reminded=("authority", col + 3, row + 1))
    late_mark(d, r.id("verify"), lane="authority", col=col + 4, row=row + 1)
    d.flow(r.id("f_to_sign"), r.id("rectify"), r.id("sign"))
    d.flow(r.id("f_sign"), r.id("sign"), r.id("gw_sign"))
    d.flow(r.id("f_returned"), r.id("gw_sign"), r.id("rectify"), "退回",
           condition=f'{r.id("sign_decision")} == "return"')
    d.flow(r.id("f_signed"), r.id("gw_sign"), r.id("verify"), "签发")
    d.flow(r.id("f_verify"), r.id("verify"), r.id("gw_verify"))
    d.flow(r.id("f_accepted"), r.id("gw_verify"), r.id("rectified"), "到位",
           condition=f'{r.id("verify_result")} == "accepted"')
    d.flow(r.id("f_rejected"), r.id("gw_verify"), r.id("rework"), "不到位")
    d.flow(r.id("f_reworked"), r.id("rework"), r.id("rectify"))
    d.flow(r.id("f_rectified"), r.id("rectified"), r.id("end_rectified"))


def _county_late(d: Diagram, task: str, *, col: int) -> None:
    """``late_mark`` for the county government's own period (the engine marks it late; no 督办)."""
    late_mark(d, task, lane="county_gov", col=col, row=1, name="已超期（县政府）")


def _info(field_id: str, label: str, kind: str = "textarea") -> Field:
    return Field(field_id, label, kind, readonly=True)


def _deadline_form(what: str, prefix: str) -> list[Field]:
    # The days stay empty in the diagram: check_task fills the rule set's default (art. 31, design).
    return [Field(f"{prefix}_requirements", f"{what}要求", "textarea", required=True, maxlength=5000),
            Field(f"{prefix}_days", f"{what}期限（工作日，留空按规则集默认）", "long", min=1, max=60)]


def _report_form(r: Round) -> list[Field]:
    return [_info(f"{r.deadline}_requirements", "整改要求"), _info(f"{r.deadline}_due", "整改期限", "date"),
            _info(r.id("verify_opinion"), "主管部门核查意见"),
            Field(r.id("report"), "整改情况报告", "textarea", required=True, maxlength=5000)]


def _sign_form(r: Round) -> list[Field]:
    return [_info(r.id("report"), "整改情况报告"),
            Field(r.id("sign_decision"), "签发意见", "enum", required=True, values=SIGN),
            Field(r.id("sign_comment"), "意见说明（退回时必填）", "textarea", maxlength=2000)]


def _verify_form(r: Round) -> list[Field]:
    return [_info(r.id("report"), "整改情况报告"),
            Field(r.id("verify_result"), "核查结论", "enum", required=True, values=VERIFY),
            Field(r.id("verify_opinion"), "核查意见（不到位时必填）", "textarea", maxlength=2000)]
