"""Rule sets managed by administrators (the verbs of engine.verbs.rule_sets, the reads of
engine.rule_admin, and `govflow rules`), on SQLite and PostgreSQL: the shipped state, adding a version
(validated, from a copy), activating one rule set at a time, refusing to leave nothing in force, the
administrator's role checked by the verbs themselves, the audit records, and a case pinned to its version."""
from __future__ import annotations

import json
import re
from datetime import date, datetime

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from engine import cli, rule_admin, rules
from engine.calendar import BEIJING
from engine.errors import GovflowError, InvalidForm, NotFound, PermissionDenied
from engine.models import AuditRecord, Case, Deadline, RuleSetRow
from engine.uow import Actor
from engine.verbs import rule_sets
from tests.conftest import FIXTURES, make_engine

CLERK = Actor("zhang", frozenset({"provider_clerk"}), "D1")
ADMIN = Actor("admin", frozenset({"admin"}))
ADDED_0014 = ("supplement_days", "catalog_rework_days", "ordered_grant_days", "correction_days", "verify_days",
              "rework_days", "authority_decide_days", "notice_days", "grant_expiry_notice_days")


def beijing(*args) -> datetime:
    return datetime(*args, tzinfo=BEIJING)


@pytest.fixture
def timed(db_url, clock):
    """An engine with the test diagram whose answer is due ``workdays(rules.review_reply_days)``."""
    clock.set(beijing(2026, 9, 24, 10, 0))  # Thursday; National Day 10-01..10-07, Saturday 10-10 works
    eng = make_engine(db_url, clock, procedures={})
    eng.deploy((FIXTURES / "deadline_review.bpmn").read_bytes())
    yield eng
    eng.db_engine.dispose()


def audit_records(engine, prefix="rule_set_") -> list[tuple[str, str, dict]]:
    with engine.uow() as uow:
        return [(r.action, r.actor, json.loads(r.summary)) for r in uow.session.scalars(
            sa.select(AuditRecord).where(AuditRecord.action.like(f"{prefix}%")).order_by(AuditRecord.id))]


def states(engine) -> dict[str, bool]:
    return {v.key: v.active for v in rule_admin.versions(engine)}


def overdue_date(engine, case_id) -> date:
    with engine.uow() as uow:
        return uow.session.scalars(sa.select(Deadline.due_date).where(
            Deadline.case_id == case_id, Deadline.kind == "overdue")).one()


def add_amendment(engine, days=20, effective=date(2026, 9, 25), **kwargs):
    return rule_sets.add(engine, ADMIN, "huaining-2021", effective_from=effective, title="怀宁县政务数据期限调整",
                         document="怀政办发〔2026〕9号", source="huaining-2021@1",
                         periods={"review_reply_days": days}, **kwargs)


def test_as_shipped_huaining_2021_is_in_force_and_national_2025_is_seeded_inactive(timed):
    found = rule_admin.versions(timed)
    assert [(v.key, v.active, v.in_force) for v in found] == [("huaining-2021@1", True, True),
                                                               ("national-2025@1", False, False)]
    huaining, national = found
    assert set(rules.REQUIRED_PERIODS) <= set(huaining.periods) and set(ADDED_0014) <= set(rules.REQUIRED_PERIODS)
    assert (national.periods["catalog_update_days"], national.periods["share_reply_days"]) == (10, 10)
    assert huaining.document and national.document  # 0014 copied the titles into the document column
    assert rule_admin.in_force(timed).key == "huaining-2021@1"
    assert rule_admin.period_in_force(timed, "review_reply_days") == 10
    assert rule_admin.get(timed, "huaining-2021").key == "huaining-2021@1"  # a bare name: the newest version
    with pytest.raises(NotFound):
        rule_admin.get(timed, "nope@1")
    assert rule_admin.after_hours_policy(timed) == "calendar_date"


def test_a_version_added_from_a_copy_is_inactive_validated_and_audited(timed):
    added = add_amendment(timed)
    assert (added.key, added.active, added.in_force, added.document) == (
        "huaining-2021@2", False, False, "怀政办发〔2026〕9号")
    original = rule_admin.get(timed, "huaining-2021@1")
    assert added.periods == {**original.periods, "review_reply_days": 20}
    assert rule_admin.in_force(timed).key == "huaining-2021@1"  # inactive until an administrator activates it
    [(action, actor, summary)] = audit_records(timed)
    assert (action, actor) == ("rule_set_added", "admin")
    assert summary["key"] == "huaining-2021@2" and summary["from"] == "huaining-2021@1"
    assert summary["changed"] == {"review_reply_days": [10, 20]} and summary["document"] == "怀政办发〔2026〕9号"
    assert summary["effective_from"] == "2026-09-25" and summary["periods"]["review_reply_days"] == 20


@pytest.mark.parametrize("periods, field, message", [
    ({"review_reply_days": 0}, "review_reply_days", "1 to 365"),
    ({"review_reply_days": 366}, "review_reply_days", "1 to 365"),
    ({"review_reply_days": True}, "review_reply_days", "whole number"),
    ({"review_reply_days": "10"}, "review_reply_days", "whole number"),
    ({"review_reply_day": 10}, "review_reply_day", "unknown period"),
])
def test_every_period_is_a_known_whole_number_from_1_to_365(timed, periods, field, message):
    with pytest.raises(InvalidForm) as refused:
        rule_sets.add(timed, ADMIN, "huaining-2021", effective_from=date(2026, 10, 1), title="t", document="d",
                      source="huaining-2021@1", periods=periods)
    assert message in refused.value.errors[field]
    assert list(states(timed)) == ["huaining-2021@1", "national-2025@1"] and audit_records(timed) == []


def test_a_version_without_a_copy_needs_every_required_period_and_the_texts(timed):
    with pytest.raises(InvalidForm) as refused:
        rule_sets.add(timed, ADMIN, "Bad Name", effective_from=None, title=" ", document="",
                      periods={"share_reply_days": 5}, source="nope@3")
    errors = refused.value.errors
    assert {"name", "effective_from", "title", "document", "source"} <= set(errors)
    assert set(rules.REQUIRED_PERIODS) - {"share_reply_days"} <= set(errors) and "share_reply_days" not in errors
    complete = {k: 5 for k in rules.REQUIRED_PERIODS}
    added = rule_sets.add(timed, ADMIN, "anqing-2027", effective_from=date(2027, 1, 1), title="安庆市试行",
                          document="宜政办〔2026〕1号", periods=complete)
    assert (added.key, added.active) == ("anqing-2027@1", False)


def test_activating_another_rule_set_deactivates_the_one_in_force(timed):
    add_amendment(timed, effective=date(2027, 1, 1))
    rule_sets.activate(timed, ADMIN, "huaining-2021@2")  # same rule set: both versions stay active
    assert states(timed) == {"huaining-2021@1": True, "huaining-2021@2": True, "national-2025@1": False}
    assert rule_admin.in_force(timed).key == "huaining-2021@1"  # @2 takes effect on 2027-01-01
    assert rule_admin.in_force(timed, date(2027, 1, 1)).key == "huaining-2021@2"

    preview = rule_admin.plan(timed, "national-2025@1", "activate")
    assert preview.deactivates == ("huaining-2021@1", "huaining-2021@2") and preview.refusal is None
    assert (preview.in_force_before, preview.in_force_after) == ("huaining-2021@1", "national-2025@1")
    assert states(timed)["national-2025@1"] is False  # a plan changes nothing
    change = rule_sets.activate(timed, ADMIN, "national-2025@1")
    assert change.deactivates == ("huaining-2021@1", "huaining-2021@2")
    assert states(timed) == {"huaining-2021@1": False, "huaining-2021@2": False, "national-2025@1": True}
    assert rule_admin.in_force(timed).key == "national-2025@1"
    with timed.uow() as uow:
        assert rules.in_force(uow.session, date(2026, 9, 24)).key == "national-2025@1"
    action, actor, summary = audit_records(timed)[-1]
    assert (action, actor) == ("rule_set_activated", "admin")
    assert summary == {"key": "national-2025@1", "deactivated": ["huaining-2021@1", "huaining-2021@2"],
                       "in_force_before": "huaining-2021@1", "in_force_after": "national-2025@1", "on": "2026-09-24"}
    assert timed.verify_audit() is None


def test_nothing_in_force_is_refused_and_changes_nothing(timed):
    with pytest.raises(GovflowError, match="no case could start"):
        rule_sets.deactivate(timed, ADMIN, "huaining-2021@1")
    future = rule_sets.add(timed, ADMIN, "anqing-2027", effective_from=date(2027, 1, 1), title="安庆", document="文件",
                           source="huaining-2021@1")
    with pytest.raises(GovflowError, match="takes effect on 2027-01-01"):
        rule_sets.activate(timed, ADMIN, future.key)
    with pytest.raises(GovflowError, match="active already"):
        rule_sets.activate(timed, ADMIN, "huaining-2021@1")
    with pytest.raises(GovflowError, match="not active"):
        rule_sets.deactivate(timed, ADMIN, "national-2025@1")
    with pytest.raises(NotFound):
        rule_sets.activate(timed, ADMIN, "huaining-2021")  # the version must be named
    with pytest.raises(GovflowError, match="no case could start"):  # added and activated: all or nothing
        rule_sets.add(timed, ADMIN, "anqing-2027", effective_from=date(2027, 1, 1), title="安庆", document="文件",
                      source="huaining-2021@1", activate=True)
    assert states(timed) == {"anqing-2027@1": False, "huaining-2021@1": True, "national-2025@1": False}
    assert [a for a, _, _ in audit_records(timed)] == ["rule_set_added"]
    assert rule_admin.plan(timed, "huaining-2021@1", "deactivate").refusal


@pytest.mark.parametrize("who", [CLERK, Actor("auth1", frozenset({"authority"}), "A"), Actor.system("rules")])
def test_only_an_administrator_may_change_rule_sets_whoever_calls_the_verbs(timed, who):
    """The verbs check the role themselves (not only the web page's guard): nothing changes."""
    with pytest.raises(PermissionDenied):
        rule_sets.add(timed, who, "anqing-2027", effective_from=date(2027, 1, 1), title="安庆", document="文件",
                      source="huaining-2021@1")
    with pytest.raises(PermissionDenied):
        rule_sets.activate(timed, who, "national-2025@1")
    with pytest.raises(PermissionDenied):
        rule_sets.deactivate(timed, who, "huaining-2021@1")
    assert states(timed) == {"huaining-2021@1": True, "national-2025@1": False} and audit_records(timed) == []


def test_a_later_version_can_be_deactivated_while_an_earlier_one_stays_in_force(timed):
    add_amendment(timed, activate=True)
    assert [a for a, _, _ in audit_records(timed)] == ["rule_set_added", "rule_set_activated"]
    timed.clock.set(beijing(2026, 9, 25, 10, 0))
    assert rule_admin.in_force(timed).key == "huaining-2021@2"
    change = rule_sets.deactivate(timed, ADMIN, "huaining-2021@2")
    assert (change.in_force_before, change.in_force_after) == ("huaining-2021@2", "huaining-2021@1")
    assert rule_admin.in_force(timed).key == "huaining-2021@1"
    assert audit_records(timed)[-1][0] == "rule_set_deactivated"


def test_a_running_case_keeps_its_periods_and_a_new_case_gets_the_activated_version(timed):
    running = timed.start_case("deadline_review", CLERK)
    assert overdue_date(timed, running) == date(2026, 10, 15)  # 10 working days from 09-24
    added = add_amendment(timed, days=20, effective=date(2026, 9, 24))
    rule_sets.activate(timed, ADMIN, added.key)
    newer = timed.start_case("deadline_review", CLERK)
    with timed.uow() as uow:
        assert [uow.session.get(Case, c).rule_set for c in (running, newer)] == ["huaining-2021@1", "huaining-2021@2"]
    assert overdue_date(timed, running) == date(2026, 10, 15)  # unchanged
    assert overdue_date(timed, newer) == date(2026, 10, 29)  # 20 working days
    with timed.uow() as uow:  # the running case's scripts still read its own version
        assert timed.rule_set(uow.session, "huaining-2021@1").review_reply_days == 10

    rule_sets.activate(timed, ADMIN, "national-2025@1")  # another rule set: huaining's versions go off
    third = timed.start_case("deadline_review", CLERK)
    with timed.uow() as uow:
        assert uow.session.get(Case, third).rule_set == "national-2025@1"
        assert uow.session.get(Case, newer).rule_set == "huaining-2021@2"
    assert overdue_date(timed, newer) == date(2026, 10, 29)


def test_the_command_line(timed, monkeypatch):
    monkeypatch.setattr(cli, "build_engine", lambda config: timed)
    runner = CliRunner()

    def run(*args):
        return runner.invoke(cli.main, list(args), catch_exceptions=False)

    listed = run("rules", "list")
    assert listed.exit_code == 0
    assert "* huaining-2021@1" in listed.output and re.search(r"national-2025@1 +inactive", listed.output)
    shown = run("rules", "show", "national-2025@1")
    assert shown.exit_code == 0 and "share_reply_days             10" in shown.output
    assert "document:" in shown.output and "supplement_days" in shown.output
    assert run("rules", "show", "nope").exit_code == 1

    refused = run("rules", "add", "huaining-2021", "--effective-from", "2026-10-01", "--document", "文件",
                  "--title", "调整", "--from", "huaining-2021@1", "--set", "review_reply_days=0",
                  "--set", "share_reply_dayz=3")
    assert refused.exit_code == 1
    assert "review_reply_days:" in refused.output and "share_reply_dayz: 未知的期限" in refused.output
    assert run("rules", "add", "x", "--effective-from", "2026-10-01", "--document", "d", "--title", "t",
               "--set", "share_reply_days").exit_code == 2  # KEY=DAYS
    added = run("rules", "add", "huaining-2021", "--effective-from", "2026-09-01", "--document", "怀政办发〔2026〕9号",
                "--title", "调整", "--from", "huaining-2021@1", "--set", "review_reply_days=12", "--by", "ops")
    assert added.exit_code == 0 and "huaining-2021@2 added (inactive)" in added.output

    activated = run("rules", "activate", "national-2025@1", "--by", "ops")
    assert activated.exit_code == 0 and "deactivated: huaining-2021@1" in activated.output
    only = run("rules", "deactivate", "national-2025@1")
    assert only.exit_code == 1 and "REFUSED" in only.output
    assert run("rules", "activate", "huaining-2021@2").exit_code == 0
    assert states(timed) == {"huaining-2021@1": False, "huaining-2021@2": True, "national-2025@1": False}
    assert rule_admin.in_force(timed).key == "huaining-2021@2"
    assert [(a, who) for a, who, _ in audit_records(timed)] == [
        ("rule_set_added", "ops"), ("rule_set_activated", "ops"), ("rule_set_activated", "admin")]
    with timed.uow() as uow:
        row = uow.session.scalars(sa.select(RuleSetRow).where(RuleSetRow.version == 2)).one()
        assert (row.document, json.loads(row.periods)["review_reply_days"]) == ("怀政办发〔2026〕9号", 12)
    assert run("audit", "verify").exit_code == 0


@pytest.mark.postgres
def test_two_administrators_switching_at_once_leave_one_rule_set_active(pg_url, clock):
    """Both lock the rule-set rows (FOR UPDATE, in one order): the second decides on what the first
    committed, so one rule set is active at the end, whichever won."""
    import threading
    clock.set(beijing(2026, 9, 24, 10, 0))
    engines = [make_engine(pg_url, clock, procedures={}) for _ in range(2)]
    try:
        add_amendment(engines[0], effective=date(2026, 9, 1))
        rule_sets.add(engines[0], ADMIN, "anqing-2026", effective_from=date(2026, 1, 1), title="安庆", document="文件",
                      source="huaining-2021@1")
        barrier, errors = threading.Barrier(2), []

        def switch(engine, key):
            barrier.wait()
            try:
                rule_sets.activate(engine, ADMIN, key)
            except GovflowError as exc:  # pragma: no cover - a refusal is allowed, a second name active is not
                errors.append(exc)

        threads = [threading.Thread(target=switch, args=(e, k))
                   for e, k in zip(engines, ("anqing-2026@1", "national-2025@1"))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        active = {key.split("@")[0] for key, on in states(engines[0]).items() if on}
        assert len(active) == 1 and not errors, (active, errors)
        assert engines[0].verify_audit() is None
    finally:
        for e in engines:
            e.db_engine.dispose()
