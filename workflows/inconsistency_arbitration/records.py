"""Inconsistency reports (不一致协调, procedure 4, art. 19): departments providing different data of
the same category state positions, agree on a proposed resolution or are decided by the authority,
correct, and the authority confirms the corrections.

A settlement is a *resolution*: whose record is right (the prevailing department), which departments
correct their data, and by when (art. 13: a department corrects its wrong data). "Agreed" without
one is no agreement (docs/procedures.md section 4). The report has no columns for the prevailing
department and the correction due date yet: they are in the audit records (``inconsistency_proposed``,
``inconsistency_decided``) and the case data, and in the human-readable ``decision``."""
from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from engine.errors import GovflowError
from engine.messages import Message, msg
from engine.models import Base, UTCDateTime
from engine.uow import Actor, UnitOfWork
from engine.domain.org import Department
from engine.domain.record_checks import Checks, load, record_audit, require_status

# open → settled (outcome agreed or decided) → closed once every required correction is done
REPORT_STATUSES = {"open": "协商中", "settled": "待更正", "closed": "已办结"}
OUTCOMES = {"agreed": "协商一致", "decided": "主管部门协调决定"}  # art. 19

# the words naming the report and its fields in messages (engine.domain.record_checks)
INCONSISTENCY_REPORT = msg("label.inconsistency_report", "inconsistency report")
DESCRIPTION = msg("label.inconsistency_description", "description of the inconsistency")
REPORTING_DEPARTMENT = msg("label.reporting_department", "reporting department")
DEPARTMENT_INVOLVED = msg("label.department_involved", "department involved")
POSITION = msg("label.position", "position")
RESOLUTION = msg("label.resolution", "resolution")
COORDINATION_OUTCOME = msg("label.coordination_outcome", "coordination outcome")
DECISION = msg("label.inconsistency_decision", "decision on the inconsistency")
CORRECTION_NOTE = msg("label.correction_report", "report on the correction")
CONFIRMATION = msg("label.confirmation", "confirmation")


class InconsistencyReport(Base):
    __tablename__ = "inconsistency_report"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int | None] = mapped_column(sa.ForeignKey("case.id"), index=True)
    reporter: Mapped[str] = mapped_column(sa.String(200))
    reporter_department_id: Mapped[int | None] = mapped_column(sa.ForeignKey("department.id"))
    description: Mapped[str] = mapped_column(sa.Text)
    reported_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(sa.String(20), default="open", index=True)
    outcome: Mapped[str | None] = mapped_column(sa.String(20))
    decision: Mapped[str | None] = mapped_column(sa.Text)
    decided_by: Mapped[str | None] = mapped_column(sa.String(200))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(default=1)

    reporter_department: Mapped[Department | None] = relationship(lazy="joined")
    parties: Mapped[list["InconsistencyParty"]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="InconsistencyParty.id")

    __mapper_args__ = {"version_id_col": version}

    def parties_of(self, dept_code: str) -> list["InconsistencyParty"]:
        return [p for p in self.parties if p.department.code == dept_code]


class InconsistencyParty(Base):
    """One department's resource in a report: its position, agreement and correction."""

    __tablename__ = "inconsistency_party"
    __table_args__ = (sa.UniqueConstraint("report_id", "department_id", "resource_code",
                                          name="uq_inconsistency_party_report_department_resource"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(sa.ForeignKey("inconsistency_report.id", ondelete="CASCADE"))
    department_id: Mapped[int] = mapped_column(sa.ForeignKey("department.id"), index=True)
    resource_code: Mapped[str] = mapped_column(sa.String(40))
    position: Mapped[str | None] = mapped_column(sa.Text)
    agreed: Mapped[bool | None]
    position_by: Mapped[str | None] = mapped_column(sa.String(200))
    position_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    must_correct: Mapped[bool] = mapped_column(default=False)
    correction_note: Mapped[str | None] = mapped_column(sa.Text)
    corrected_by: Mapped[str | None] = mapped_column(sa.String(200))
    corrected_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    department: Mapped[Department] = relationship(lazy="joined")


def create_inconsistency_report(uow: UnitOfWork, *, description: str, involved: list[tuple[str, str]],
                                actor: Actor, now: datetime, reporter_dept_code: str | None = None,
                                case_id: int | None = None) -> InconsistencyReport:
    """Report that departments provide inconsistent data; ``involved`` is (department code,
    resource code) pairs of at least two departments (art. 19)."""
    check = Checks(uow.session)
    report = InconsistencyReport(
        description=check.text("description", description, DESCRIPTION),
        reporter=actor.username, reported_at=now, status="open", case_id=check.case("case_id", case_id),
        parties=_parties(check, involved))
    if reporter_dept_code:
        report.reporter_department = check.department(
            "reporter_dept_code", reporter_dept_code, REPORTING_DEPARTMENT)
    check.done()
    uow.session.add(report)
    uow.session.flush()
    record_audit(uow, actor, now, "inconsistency_reported", report.case_id, {
        "report_id": report.id, "involved": [[p.department.code, p.resource_code] for p in report.parties]})
    return report


def _parties(check: Checks, involved) -> list[InconsistencyParty]:
    pairs = [tuple(x) for x in involved if isinstance(x, (list, tuple)) and len(x) == 2] \
        if isinstance(involved, (list, tuple)) else []
    if len(pairs) != len(involved or ()) or len(dict.fromkeys(pairs)) != len(pairs):
        check.fail("involved", msg("inconsistency_arbitration.involved_pairs",
                                   "involved entries are distinct (department code, resource code) pairs"))
    parties = [InconsistencyParty(department=check.department("involved", code, DEPARTMENT_INVOLVED),
                                  resource_code=check.resource_code("involved", resource)) for code, resource in pairs]
    if len({p.department.id for p in parties if p.department is not None}) < 2:
        check.fail("involved", msg("inconsistency_arbitration.two_departments_involved",
                                   "at least two different departments (art. 19)"))
    return parties


def record_position(uow: UnitOfWork, report_id: int, dept_code: str, position: str, agreed: bool,
                    actor: Actor, now: datetime) -> InconsistencyReport:
    """A department states which value is right and whether it accepts the proposed resolution."""
    report = load(uow.session, InconsistencyReport, report_id, INCONSISTENCY_REPORT)
    check = Checks(uow.session)
    parties = _involved(check, report, dept_code)
    position = check.text("position", position, POSITION)
    if not isinstance(agreed, bool):
        check.fail("agreed", msg("inconsistency_arbitration.agreed_not_yes_or_no", "agreed must be yes or no"))
    check.done()
    require_status(report, ["open"], INCONSISTENCY_REPORT)
    for party in parties:
        party.position, party.agreed, party.position_by, party.position_at = position, agreed, actor.username, now
    record_audit(uow, actor, now, "inconsistency_position", report.case_id,
                 {"report_id": report.id, "department": dept_code, "agreed": agreed})
    return report


def _involved(check: Checks, report: InconsistencyReport, dept_code: str,
              field: str = "dept_code") -> list[InconsistencyParty]:
    parties = report.parties_of(dept_code)
    if not parties:
        check.fail(field, msg("inconsistency_arbitration.department_not_involved",
                              "department {dept_code} is not involved", dept_code=dept_code))
    return parties


def _resolution(check: Checks, report: InconsistencyReport, prevailing: str | None,
                must_correct: list[str]) -> list[InconsistencyParty]:
    """A resolution names at least one department that corrects (arts. 13, 19: data found wrong is
    corrected), never the prevailing one; the prevailing department, when named, is involved."""
    codes = list(dict.fromkeys(must_correct or []))
    if not codes:
        check.fail("must_correct", msg("inconsistency_arbitration.must_correct_required",
                                       "name the departments whose data is wrong and must be corrected"))
    if prevailing is not None:
        _involved(check, report, prevailing, "prevailing_department")
        if prevailing in codes:
            check.fail("must_correct", prevailing_does_not_correct())
    return [p for code in codes for p in _involved(check, report, code, "must_correct")]


def record_proposal(uow: UnitOfWork, report_id: int, dept_code: str, prevailing: str, must_correct: list[str],
                    resolution: str, actor: Actor, now: datetime) -> InconsistencyReport:
    """The lead department proposes a resolution (art. 19: 协商形成一致意见): whose record is right,
    which departments correct; proposing it is the lead department's acceptance."""
    report = load(uow.session, InconsistencyReport, report_id, INCONSISTENCY_REPORT)
    check = Checks(uow.session)
    proposer = _involved(check, report, dept_code)
    resolution = check.text("resolution", resolution, RESOLUTION, max_length=2000)
    if not isinstance(prevailing, str) or not prevailing:
        check.fail("prevailing_department", msg("inconsistency_arbitration.prevailing_department_required",
                                                "name the department whose record is right"))
        prevailing = None
    _resolution(check, report, prevailing, must_correct)
    check.done()
    require_status(report, ["open"], INCONSISTENCY_REPORT)
    for party in proposer:
        party.agreed = True
    record_audit(uow, actor, now, "inconsistency_proposed", report.case_id, {
        "report_id": report.id, "department": dept_code, "prevailing": prevailing,
        "must_correct": list(dict.fromkeys(must_correct)), "resolution": resolution})
    return report


def decide_inconsistency(uow: UnitOfWork, report_id: int, outcome: str, decision: str, must_correct: list[str],
                         actor: Actor, now: datetime, prevailing: str | None = None,
                         correction_due: date | None = None) -> InconsistencyReport:
    """Settle the report: ``agreed`` once every department agreed, or ``decided`` by the authority
    (art. 19); ``must_correct`` names the departments whose data is wrong (at least one: a settlement
    without a correction is refused), ``prevailing`` the department whose record is right,
    ``correction_due`` the last day of the correction period (art. 13; recorded in the audit)."""
    report = load(uow.session, InconsistencyReport, report_id, INCONSISTENCY_REPORT)
    check = Checks(uow.session)
    check.choice("outcome", outcome, OUTCOMES, COORDINATION_OUTCOME)
    decision = check.text("decision", decision, DECISION)
    wrong = _resolution(check, report, prevailing, must_correct)
    check.done()
    require_status(report, ["open"], INCONSISTENCY_REPORT)
    if outcome == "agreed" and not all(p.agreed for p in report.parties):
        raise GovflowError(msg("inconsistency_arbitration.not_all_agreed",
                               "not every department agreed; the authority decides"))
    for party in wrong:
        party.must_correct = True
    report.status = "settled"
    report.outcome, report.decision, report.decided_by, report.decided_at = outcome, decision, actor.username, now
    record_audit(uow, actor, now, "inconsistency_decided", report.case_id, {
        "report_id": report.id, "outcome": outcome, "must_correct": list(dict.fromkeys(must_correct or [])),
        "prevailing": prevailing, "correction_due": correction_due.isoformat() if correction_due else None})
    return report


def record_correction(uow: UnitOfWork, report_id: int, dept_code: str, note: str, actor: Actor,
                      now: datetime) -> InconsistencyReport:
    """A department reports its correction; the report closes when the last one is done."""
    report = load(uow.session, InconsistencyReport, report_id, INCONSISTENCY_REPORT)
    check = Checks(uow.session)
    parties = [p for p in _involved(check, report, dept_code) if p.must_correct]
    note = check.text("note", note, CORRECTION_NOTE)
    check.done()
    require_status(report, ["settled"], INCONSISTENCY_REPORT)
    if not parties or any(p.corrected_at for p in parties):
        raise GovflowError(msg("inconsistency_arbitration.no_correction_due",
                               "department {dept_code} has no correction due", dept_code=dept_code))
    for party in parties:
        party.correction_note, party.corrected_by, party.corrected_at = note, actor.username, now
    if all(p.corrected_at for p in report.parties if p.must_correct):
        report.status = "closed"
    record_audit(uow, actor, now, "inconsistency_corrected", report.case_id,
                 {"report_id": report.id, "department": dept_code, "closed": report.status == "closed"})
    return report


def confirm_corrections(uow: UnitOfWork, report_id: int, note: str, actor: Actor,
                        now: datetime) -> InconsistencyReport:
    """The authority confirms that every required correction was made (docs/procedures.md section 4)."""
    report = load(uow.session, InconsistencyReport, report_id, INCONSISTENCY_REPORT)
    check = Checks(uow.session)
    note = check.text("confirm_note", note, CONFIRMATION, max_length=2000)
    check.done()
    require_status(report, ["closed"], INCONSISTENCY_REPORT)
    record_audit(uow, actor, now, "inconsistency_confirmed", report.case_id, {
        "report_id": report.id, "corrected": [p.department.code for p in report.parties if p.must_correct]})
    return report


def prevailing_does_not_correct() -> Message:
    return msg("inconsistency_arbitration.prevailing_does_not_correct", "the prevailing department does not correct")
