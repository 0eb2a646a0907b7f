"""Grants after they are issued (art. 14), on SQLite and PostgreSQL with the injected clock:
revocation by the provider department or the authority (reason and basis, audited, the consumer's
clerks notified, refused for anyone else and for a grant no longer active), the expiry notice
(``grant_expiry_notice_days`` working days before the last day, once per grant, from the worker's
daily job) and the renewal (a share application pre-filled from the grant, for its consumer's clerks
only).

The grant comes from a share application for 县市场监督管理局's unconditional resource HN-SJ-001 by
县民政局, received on Thursday 2026-02-12 for the period 2026-03-01 – 2026-06-30. Ten working days
before Tuesday 2026-06-30 is Monday 2026-06-15: the Dragon Boat Festival (Fri 06-19) and two
weekends lie between.
"""
from __future__ import annotations

import json
from datetime import date, datetime

import pytest
import sqlalchemy as sa

from engine import grant_service, rules
from engine.calendar import BEIJING
from engine.domain import org, records
from engine.domain.notifications import Notification
from engine.errors import AlreadyDone, InvalidForm, NotFound, PermissionDenied
from engine.models import AuditRecord, Deadline, RuleSetRow
from engine.worker import TimerWorker
from tests.integration.test_case_read_models import orm_rows
from tests.workflows.conftest import PASSWORD, world  # noqa: F401 - the county fixture

CONSUMER, PROVIDER = "340822103", "340822102"   # 县民政局 uses 县市场监督管理局's data
NOTICE_DAY = date(2026, 6, 15)


# -- helpers ------------------------------------------------------------------------------------

def granted(world, period_until: str = "2026-06-30", resource: str = "HN-SJ-001") -> records.Grant:
    """Apply (unconditional resource: granted at once) and return the grant."""
    world.at(2026, 2, 12, 10, 0)
    case_id = world.start("share_application", "minzheng.clerk", {
        "resource": resource, "scenario": "婚姻登记时核验当事人的市场主体信息", "data_items": "公民身份号码\n姓名",
        "period_from": "2026-03-01", "period_until": period_until, "materials": "共享申请表（盖章）\n应用场景说明"})
    with world.engine.uow() as uow:
        return uow.session.scalars(sa.select(records.Grant).where(records.Grant.case_id == case_id)).one()


def grant_row(world, grant_id: int) -> records.Grant:
    with world.engine.uow() as uow:
        return uow.session.get(records.Grant, grant_id)


def audits(world, action: str) -> list[dict]:
    with world.engine.uow() as uow:
        return [json.loads(r.summary or "{}") for r in uow.session.scalars(
            sa.select(AuditRecord).where(AuditRecord.action == action).order_by(AuditRecord.id))]


def notices(world, kind: str) -> list[Notification]:
    with world.engine.uow() as uow:
        return list(uow.session.scalars(sa.select(Notification).where(Notification.kind == kind)
                                        .order_by(Notification.id)))


def add_person(world, login: str, dept: str, roles: set[str]) -> None:
    with world.engine.uow() as uow:
        person = org.create_person(uow.session, login, login, org.department_by_code(uow.session, dept), roles,
                                   PASSWORD, world.clock.now())
        world.actors[login] = person.actor()
        uow.commit()


def revoke(world, grant_id: int, login: str, reason: str = "将共享数据提供给第三方（某公司）",
           basis: str = "《怀宁县政务数据资源管理暂行办法》第十四条第二款：不得以任何形式提供给第三方"):
    return grant_service.revoke_grant(world.engine, grant_id, world.actors[login], reason, basis)


def notice_run(world, *when) -> list[int]:
    """The worker's daily job at ``when`` (Beijing wall clock)."""
    world.at(*when)
    return TimerWorker(world.engine).notify_expiring_grants()


# -- revocation -----------------------------------------------------------------------------------

def test_the_grant_read_models_hand_out_plain_values_only(world):
    """The grant pages and the API get frozen copies (GrantRow), never the ORM's Grant rows."""
    grant = granted(world)
    clerk, authority = world.actors["minzheng.clerk"], world.actors["supervisor"]
    found = [grant_service.list_grants(world.engine, clerk, "consumer"),
             grant_service.list_grants(world.engine, authority, "all"),
             grant_service.read_grant(world.engine, grant.id, clerk)]
    world.at(2026, 4, 8, 15, 30)
    found += [revoke(world, grant.id, "shichang.clerk"), grant_service.read_grant(world.engine, grant.id, authority)]
    assert orm_rows(found) == []
    listed, detail, revoked = found[0].items[0], found[2], found[3]
    assert isinstance(listed, grant_service.GrantRow) and listed.id == grant.id
    assert (listed.consumer.code, listed.provider.code, listed.data_items) == (CONSUMER, PROVIDER, ("公民身份号码", "姓名"))
    assert detail.grant == listed and detail.may_renew and not detail.may_revoke
    assert (revoked.status, revoked.revoked_by) == ("revoked", "shichang.clerk") and found[4].grant == revoked


@pytest.mark.parametrize("login", ["shichang.clerk", "shichang.head", "supervisor"])
def test_the_provider_department_or_the_authority_revokes_with_reason_and_basis(world, login):
    add_person(world, "minzheng.clerk2", CONSUMER, {"consumer_clerk"})
    grant = granted(world)
    world.at(2026, 4, 8, 15, 30)
    revoked = revoke(world, grant.id, login)
    assert (revoked.status, revoked.revoked_by, revoked.revoked_at) == ("revoked", login, world.clock.now())
    assert revoked.revocation_reason == "将共享数据提供给第三方（某公司）"
    assert revoked.revocation_basis.startswith("《怀宁县政务数据资源管理暂行办法》第十四条第二款")
    with world.engine.uow() as uow:
        assert not records.has_active_grant(uow.session, CONSUMER, "HN-SJ-001", date(2026, 4, 9))
    [audit] = audits(world, "grant_revoked")
    assert audit["grant_id"] == grant.id and audit["reason"] == revoked.revocation_reason
    assert audit["basis"] == revoked.revocation_basis and (audit["consumer"], audit["provider"]) == (CONSUMER, PROVIDER)
    told = notices(world, "grant_revoked")
    assert sorted(n.login for n in told) == ["minzheng.clerk", "minzheng.clerk2"]  # the consumer's clerks
    assert all(n.case_id == grant.case_id and f"授权 #{grant.id}" in n.text and "第三方" in n.text for n in told)
    assert world.engine.verify_audit() is None


def test_a_revoked_grant_keeps_its_case_timer_and_the_timer_leaves_it_revoked(world):
    grant = granted(world)
    world.at(2026, 4, 8, 15, 30)
    revoke(world, grant.id, "shichang.clerk")
    with world.engine.uow() as uow:
        waiting = uow.session.scalars(sa.select(Deadline).where(Deadline.case_id == grant.case_id,
                                                                Deadline.state == "waiting")).all()
    assert len(waiting) == 1  # the case still waits for the end of the period
    world.at(2026, 7, 1, 0, 0)
    assert world.fire_timers() == 1
    after = grant_row(world, grant.id)
    assert (after.status, after.expired_at) == ("revoked", None)
    assert world.case(grant.case_id).status == "completed" and audits(world, "grant_expired") == []


@pytest.mark.parametrize("login", ["minzheng.clerk", "minzheng.head", "gongan.clerk", "gongan.head",
                                   "county", "discipline"])
def test_the_consumer_and_other_departments_may_not_revoke(world, login):
    grant = granted(world)
    before = len(audits(world, "grant_revoked"))
    with pytest.raises(PermissionDenied):
        revoke(world, grant.id, login)
    assert grant_row(world, grant.id).status == "active"
    assert len(audits(world, "grant_revoked")) == before and notices(world, "grant_revoked") == []


def test_a_revocation_needs_a_reason_and_a_basis(world):
    grant = granted(world)
    with pytest.raises(InvalidForm) as refused:
        revoke(world, grant.id, "shichang.clerk", reason="  ", basis="")
    assert set(refused.value.errors) == {"reason", "basis"} and "依据" in refused.value.errors["basis"]
    with pytest.raises(InvalidForm) as refused:
        revoke(world, grant.id, "shichang.clerk", basis=" ")
    assert set(refused.value.errors) == {"basis"}
    with pytest.raises(InvalidForm):
        revoke(world, grant.id, "shichang.clerk", reason="x" * 2001)
    assert grant_row(world, grant.id).status == "active" and audits(world, "grant_revoked") == []


def test_a_grant_is_revoked_once_and_an_expired_one_not_at_all(world):
    grant = granted(world)
    revoke(world, grant.id, "shichang.clerk")
    with pytest.raises(AlreadyDone) as again:
        revoke(world, grant.id, "supervisor", reason="又一次")
    assert "已于" in str(again.value) and again.value.code == "already_done"
    assert grant_row(world, grant.id).revocation_reason == "将共享数据提供给第三方（某公司）"
    assert len(audits(world, "grant_revoked")) == 1 and len(notices(world, "grant_revoked")) == 1

    lapsed = granted(world, period_until="2026-03-31")
    world.at(2026, 4, 1, 0, 0, 30)  # past its last day, before the case's timer or the sweep ran
    with pytest.raises(grant_service.GrantEnded) as ended:
        revoke(world, lapsed.id, "supervisor")
    assert ended.value.code == "conflict" and "到期" in str(ended.value)
    world.fire_timers()
    assert grant_row(world, lapsed.id).status == "expired"
    with pytest.raises(grant_service.GrantEnded):
        revoke(world, lapsed.id, "shichang.clerk")
    with pytest.raises(NotFound):
        revoke(world, 999_999, "supervisor")


# -- the expiry notice ------------------------------------------------------------------------------

def test_the_consumer_is_told_ten_working_days_before_the_last_day_exactly_once(world):
    add_person(world, "minzheng.clerk2", CONSUMER, {"consumer_clerk"})
    grant = granted(world)
    with world.engine.uow() as uow:
        due = world.engine.calendar(uow.session).working_days_before(date(2026, 6, 30), 10)
    assert (due.date, due.provisional) == (NOTICE_DAY, False)
    for day in range(1, 15):  # nothing before the notice day
        assert notice_run(world, 2026, 6, day, 8, 0) == [], day
    assert notices(world, "grant_expiring") == [] and grant_row(world, grant.id).expiry_notice_at is None

    assert notice_run(world, 2026, 6, 15, 8, 0) == [grant.id]
    told = notices(world, "grant_expiring")
    assert sorted(n.login for n in told) == ["minzheng.clerk", "minzheng.clerk2"]
    assert all(n.case_id == grant.case_id and "2026-06-30 到期" in n.text and "续期" in n.text
               and "暂定" not in n.text for n in told)
    assert grant_row(world, grant.id).expiry_notice_at == datetime(2026, 6, 15, 8, 0, tzinfo=BEIJING)
    [audit] = audits(world, "grant_expiry_notified")
    assert audit == {"grant_id": grant.id, "consumer": CONSUMER, "valid_until": "2026-06-30",
                     "notice_day": "2026-06-15", "provisional": False}

    assert notice_run(world, 2026, 6, 15, 8, 0, 5) == []  # a second worker, the same morning
    for day in range(16, 31):
        assert notice_run(world, 2026, 6, day, 8, 0) == []
    assert len(notices(world, "grant_expiring")) == 2 and len(audits(world, "grant_expiry_notified")) == 1
    assert world.engine.verify_audit() is None


def test_the_notice_days_come_from_the_rule_set_in_force_and_a_late_worker_catches_up(world):
    with world.engine.uow() as uow:
        in_force = rules.in_force(uow.session, date(2026, 6, 23))
        row = uow.session.scalars(sa.select(RuleSetRow).where(RuleSetRow.name == in_force.name,
                                                              RuleSetRow.version == in_force.version)).one()
        periods = json.loads(row.periods)
        assert periods["grant_expiry_notice_days"] == 10
        shorter = json.dumps({**periods, "grant_expiry_notice_days": 3})
        uow.session.execute(sa.update(RuleSetRow).where(RuleSetRow.id == row.id).values(periods=shorter))
        uow.commit()
    grant = granted(world)
    assert notice_run(world, 2026, 6, 23, 8, 0) == []   # 3 working days before 06-30: Thu 06-25
    assert notice_run(world, 2026, 6, 24, 23, 59) == []
    assert notice_run(world, 2026, 6, 25, 0, 0) == [grant.id]

    short = granted(world, period_until="2026-03-31")  # the worker was down on its notice day (03-26)
    assert notice_run(world, 2026, 3, 30, 8, 0) == [short.id]
    missed = granted(world, period_until="2026-03-31")  # the worker was down until after its last day
    assert notice_run(world, 2026, 4, 1, 8, 0) == []    # nothing to tell any more
    assert grant_row(world, missed.id).expiry_notice_at is None


def test_no_notice_for_a_revoked_or_expired_grant(world):
    revoked = granted(world)
    revoke(world, revoked.id, "shichang.clerk")
    expired = granted(world, period_until="2026-03-31")
    world.at(2026, 4, 1, 0, 0)
    world.fire_timers()
    assert grant_row(world, expired.id).status == "expired"
    assert notice_run(world, 2026, 6, 15, 8, 0) == [] and notices(world, "grant_expiring") == []


def test_a_notice_in_an_unpublished_year_goes_out_marked_provisional(world):
    with world.engine.uow() as uow:
        calendar = world.engine.calendar(uow.session)
        due = calendar.working_days_before(date(2027, 1, 29), 10)
    assert due.provisional  # 2027's holidays are not published
    grant = granted(world, period_until="2027-01-29")
    assert notice_run(world, due.date.year, due.date.month, due.date.day, 8, 0) == [grant.id]
    [told] = notices(world, "grant_expiring")
    assert "暂定" in told.text
    assert audits(world, "grant_expiry_notified")[0]["provisional"] is True


# -- renewal ------------------------------------------------------------------------------------------

def test_a_consumer_clerk_renews_from_a_form_prefilled_from_the_grant(world):
    grant = granted(world)
    world.at(2026, 6, 16, 9, 0)
    form = grant_service.renewal_form(world.engine, grant.id, world.actors["minzheng.clerk"])
    assert form == {"resource": "HN-SJ-001", "scenario": "婚姻登记时核验当事人的市场主体信息",
                    "data_items": "公民身份号码\n姓名", "period_from": "2026-07-01", "period_until": "2026-10-30",
                    "materials": "共享申请表（盖章）\n应用场景说明"}  # 2026-03-01..06-30 is 122 days, so is 07-01..10-30
    case_id = grant_service.start_renewal(world.engine, grant.id, world.actors["minzheng.clerk"], form)
    assert world.engine.case_data(case_id)["renews_grant_id"] == grant.id
    with world.engine.uow() as uow:
        renewed = uow.session.scalars(sa.select(records.Grant).where(records.Grant.case_id == case_id)).one()
    assert (renewed.valid_from, renewed.valid_until) == (date(2026, 7, 1), date(2026, 10, 30))
    assert (renewed.resource_code, renewed.data_items) == ("HN-SJ-001", ["公民身份号码", "姓名"])
    [audit] = audits(world, "grant_renewal_applied")
    assert audit["grant_id"] == grant.id
    assert grant_row(world, grant.id).status == "active"  # the old grant runs to its end


def test_an_expired_grant_renews_from_today(world):
    grant = granted(world, period_until="2026-03-31")
    world.at(2026, 4, 10, 9, 0)
    world.fire_timers()
    form = grant_service.renewal_form(world.engine, grant.id, world.actors["minzheng.clerk"])
    assert (form["period_from"], form["period_until"]) == ("2026-04-10", "2026-05-10")


@pytest.mark.parametrize("login", ["shichang.clerk", "shichang.head", "minzheng.head", "gongan.clerk",
                                   "supervisor"])
def test_only_the_consumers_clerks_may_renew(world, login):
    grant = granted(world)
    with pytest.raises(PermissionDenied):
        grant_service.renewal_form(world.engine, grant.id, world.actors[login])
    form = grant_service.renewal_form(world.engine, grant.id, world.actors["minzheng.clerk"])
    with pytest.raises(PermissionDenied):
        grant_service.start_renewal(world.engine, grant.id, world.actors[login], form)
    assert audits(world, "grant_renewal_applied") == []


def test_a_revoked_grant_is_not_renewed_and_a_renewal_keeps_to_its_resource(world):
    grant = granted(world)
    clerk = world.actors["minzheng.clerk"]
    form = grant_service.renewal_form(world.engine, grant.id, clerk)
    with pytest.raises(InvalidForm) as refused:
        grant_service.start_renewal(world.engine, grant.id, clerk, {**form, "resource": "HN-GA-001"})
    assert set(refused.value.errors) == {"resource"}
    with pytest.raises(InvalidForm) as refused:  # the start form's own checks apply
        grant_service.start_renewal(world.engine, grant.id, clerk, {**form, "scenario": ""})
    assert "scenario" in refused.value.errors
    revoke(world, grant.id, "supervisor")
    with pytest.raises(grant_service.GrantEnded):
        grant_service.renewal_form(world.engine, grant.id, clerk)
    with pytest.raises(grant_service.GrantEnded):
        grant_service.start_renewal(world.engine, grant.id, clerk, form)
    with pytest.raises(NotFound):
        grant_service.renewal_form(world.engine, 999_999, clerk)
    assert audits(world, "grant_renewal_applied") == []
