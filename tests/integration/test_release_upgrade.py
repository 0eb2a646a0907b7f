"""A county's database made by an earlier release upgrades to head without losing a case.

For every release fixture in tests/fixtures/release/ (README there; made by tools/release_fixture.py)
and on both databases: load the dump into a fresh database (SQLite file; PostgreSQL private schema),
check it holds what the manifest says, run the Alembic upgrade to head, deploy ``bpmn/`` as an
upgrade does, verify the audit chain, and then continue EVERY open case to its end through the
service layer, as the county's people and its timer worker would:

1. the cases the manifest marks ``act`` are worked at once, in the state the release left them;
2. time runs for 30 days (every timer at its due instant, the daily grant jobs; 2027's holiday
   notice is published on 2026-12-28), so the ``wait`` cases' timers act on the loaded state:
   reminders, overdue escalations, lapses, the provisional (暂定) ends held until the publication;
3. everything still open is worked to its end; when nothing is open the clock jumps to the next
   due timer (a grant's end); a year a held timer needs is published.

Each open step is completed with valid data for its element (``FORMS``, taken from the workflow
tests), by someone the engine says may work it. The test fails when a step refuses every form, a
case is stuck (nothing open, nothing due), or a case does not end. Finally every case is completed,
the cases completed in the release kept their outcome, and the audit chain still verifies.
"""
from __future__ import annotations

import gzip
import json
import sqlite3
from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Callable

import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory

from engine.calendar import BEIJING
from tests.conftest import FIXTURES, PG_URL, drop_pg_schema, new_pg_schema_url

RELEASES = FIXTURES / "release"
MANIFESTS = sorted(RELEASES.glob("govflow-*.manifest.json"))
KINDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
TIME_RUNS = timedelta(days=30)     # step 2
PUBLISHED_ON = (2026, 12, 28, 10)  # step 2: the State Council's notice for 2027 is entered (Beijing)
MAX_STEPS_PER_CASE = 40            # a case that needs more is going round in circles


# ==================================================================================================
# what the county's people fill in, per procedure and step: fn(task data, earlier visits) -> forms
# tried in order (the first one the engine accepts is kept; a refusal moves on to the next)
# ==================================================================================================

Forms = Callable[[dict, int], list[dict]]
NOTE = "升级后继续办理"


def fixed(*forms: dict) -> Forms:
    return lambda data, visits: [dict(f) for f in forms]


FORMS: dict[str, dict[str, Forms | None]] = {
    "catalog_change": {
        # submit the case's draft once (refused when it does not differ from the live catalog);
        # back again after a return: withdraw, so that no case loops
        "update_catalog": lambda data, visits: (
            [{"change_summary": NOTE, "action": "submit"}] if visits == 0 else []) + [
            {"change_summary": NOTE, "action": "withdraw"}],
        "internal_approval": fixed({"head_decision": "approve", "head_opinion": NOTE},
                                   {"head_decision": "return", "head_opinion": NOTE}),
        "report": fixed({"report_note": NOTE}),
        "authority_review": fixed({"review_decision": "approve", "review_opinion": NOTE},
                                  {"review_decision": "return", "review_opinion": NOTE}),
    },
    "data_review": {
        "request_extension": None,  # optional (the answer cancels it): never asked by the driver
        "approve_extension": fixed({"approve": True, "opinion": NOTE}, {"approve": False, "opinion": NOTE}),
        "verify_answer": fixed({"outcome": "confirmed", "answer": "经核实，数据与原始登记一致。"}),
    },
    "inconsistency_arbitration": {
        "state_position": fixed({"position": "本部门登记值正确", "evidence": "原始登记档案"}),
        "propose_resolution": lambda data, visits: [
            {"proposal_action": "propose", "proposed_prevailing": data["departments"][0], "resolution_text": NOTE},
            {"proposal_action": "escalate", "proposal_note": NOTE}],
        "negotiate": fixed({"agree": True, "note": NOTE}, {"agree": False, "note": NOTE}),
        "authority_decide": lambda data, visits: [
            {"prevailing_department": data["departments"][0], "decision": NOTE}],
        "correct": fixed({"correction_note": NOTE}),
        "authority_confirm": fixed({"confirm_note": NOTE}),
    },
    "rectification": {
        "notice": fixed({"notice_requirements": NOTE, "notice_days": 10}),
        "rectify": fixed({"report": NOTE}),
        "sign": fixed({"sign_decision": "approve"}),
        "verify": fixed({"verify_result": "accepted", "verify_opinion": NOTE}),
        "order": fixed({"order_requirements": NOTE, "order_days": 10}),
        "rectify2": fixed({"report2": NOTE}),
        "sign2": fixed({"sign_decision2": "approve"}),
        "verify2": fixed({"verify_result2": "accepted", "verify_opinion2": NOTE}),
        "criticism": fixed({"criticism_text": NOTE}),
        "assess": fixed({"serious": "no", "serious_note": NOTE}),
        "referral": fixed({"responsible_persons": "责任人员", "referral_decision": NOTE}),
    },
    "share_application": {
        "provider_review": fixed({"decision": "approve", "usage_limits": NOTE},
                                 {"decision": "refuse", "reason": NOTE, "basis": "《中华人民共和国个人信息保护法》"}),
        "supplement_materials": fixed({"supplement_action": "supplement", "materials": "补充的履职依据"},
                                      {"supplement_action": "withdraw"}),
        "provider_explanation": fixed({"reason": NOTE, "basis": "《中华人民共和国刑事诉讼法》第一百五十二条"}),
        "after_refusal": lambda data, visits: (
            [{"next_step": "coordinate", "coordination_request": NOTE}] if visits == 0 else []) + [
            {"next_step": "accept"}],
        "coordinate": fixed({"coordination": "share_ordered", "coordination_note": NOTE},
                            {"coordination": "upheld", "coordination_note": NOTE}),
        "grant_ordered": fixed({}),
    },
}
SUPERVISE = "_supervise"  # every procedure's 督办 decision: workflows/diagram_periods.py ``escalation``


def supervise_forms(case_id: int, item: tuple[str, bool] | None) -> list[dict]:
    """The 督办 decision: one the dashboard confirmed is answered ``open`` in the case (the same
    rectification case), one it dismissed can only be dismissed; an undecided one opens a
    rectification in every other case (a new case, driven to its end too) and is dismissed in the
    rest."""
    status, confirmed = item or ("open", False)
    if confirmed:
        return [{"decision": "open", "note": NOTE}]
    if status != "open" or case_id % 2:
        return [{"decision": "dismiss", "note": NOTE}]
    return [{"decision": "open", "note": NOTE}]


# ==================================================================================================
# the county: the one place that calls the engine (adapt it when the service layer moves)
# ==================================================================================================

class County:
    def __init__(self, url: str, now: datetime):
        from engine.bootstrap import build_engine
        from engine.clock import FrozenClock
        from engine.config import Config
        self.clock = FrozenClock(now)
        self.engine = build_engine(Config(database_url=url), clock=self.clock)
        self.visits: Counter = Counter()
        self.steps: Counter = Counter()
        self.fired: Counter = Counter()  # case id -> timers fired since the load
        self.log: list[str] = []
        self._daily_done: date | None = None
        self._actors: dict[str, object] = {}

    def close(self) -> None:
        self.engine.db_engine.dispose()

    # -- reading ------------------------------------------------------------------------------------
    def cases(self) -> list[dict]:
        from engine.models import Case, HumanTask
        with self.engine.uow() as uow:
            s = uow.session
            open_steps: dict[int, list[str]] = {}
            for case_id, element in s.execute(sa.select(HumanTask.case_id, HumanTask.element_id)
                                              .where(HumanTask.state == "ready")):
                open_steps.setdefault(case_id, []).append(element)
            return [{"id": c.id, "process_id": c.process_id, "status": c.status, "outcome": c.outcome,
                     "open": sorted(open_steps.get(c.id, []))} for c in s.scalars(sa.select(Case).order_by(Case.id))]

    def ready_tasks(self, case_ids: set[int] | None = None) -> list[tuple]:
        """(case id, process id, element id, task id, assignee) of the open steps, oldest case first."""
        from engine.models import Case, HumanTask
        query = (sa.select(HumanTask.case_id, Case.process_id, HumanTask.element_id, HumanTask.id,
                           HumanTask.assignee)
                 .join(Case, Case.id == HumanTask.case_id)
                 .where(HumanTask.state == "ready", Case.status == "running")
                 .order_by(HumanTask.case_id, HumanTask.created_at, HumanTask.id))
        with self.engine.uow() as uow:
            rows = list(uow.session.execute(query))
        return [tuple(r) for r in rows if case_ids is None or r[0] in case_ids]

    def waiting(self, case_id: int) -> list[tuple]:
        from engine.models import Deadline
        with self.engine.uow() as uow:
            return list(uow.session.execute(sa.select(Deadline.element_id, Deadline.due_at, Deadline.held).where(
                Deadline.case_id == case_id, Deadline.state == "waiting")))

    def verify_audit(self):
        return self.engine.verify_audit()

    def audit_count(self) -> int:
        from engine.models import AuditRecord
        with self.engine.uow() as uow:
            return uow.session.scalar(sa.select(sa.func.count()).select_from(AuditRecord))

    # -- people at work -------------------------------------------------------------------------------
    def workable(self, process_id: str, element_id: str) -> bool:
        return element_id.endswith(SUPERVISE) or FORMS.get(process_id, {}).get(element_id) is not None

    def known(self, process_id: str, element_id: str) -> bool:
        return element_id.endswith(SUPERVISE) or element_id in FORMS.get(process_id, {})

    def work(self, case_id: int, process_id: str, element_id: str, task_id: str, assignee: str | None) -> None:
        """Complete one open step with the first form the engine accepts, as someone who may."""
        from engine.errors import InvalidForm, PermissionDenied
        if not self.known(process_id, element_id):
            pytest.fail(f"case {case_id}: step {process_id}/{element_id} has no forms in FORMS: add them")
        data = self.engine.get_task(task_id).data
        if element_id.endswith(SUPERVISE):
            forms = supervise_forms(case_id, self._supervision(data.get(element_id[:-len(SUPERVISE)] + "_supervision")))
        else:
            forms = FORMS[process_id][element_id](data, self.visits[case_id, element_id])
        refusals = []
        for login in self._people(task_id, assignee):
            for form in forms:
                try:
                    self.engine.complete_task(task_id, self._actor(login), form)
                except InvalidForm as exc:
                    refusals.append(f"{login} {form}: {exc.errors}")
                    continue
                except PermissionDenied as exc:
                    refusals.append(f"{login}: {exc}")
                    break
                self.visits[case_id, element_id] += 1
                self.steps[case_id] += 1
                self.log.append(f"{self._when()} case {case_id} {element_id} by {login}: {form}")
                if self.steps[case_id] > MAX_STEPS_PER_CASE:
                    pytest.fail(f"case {case_id} took more than {MAX_STEPS_PER_CASE} steps: going round in circles?"
                                + self._tail())
                return
        pytest.fail(f"case {case_id}: step {element_id} accepted no form from anyone:\n  "
                    + "\n  ".join(refusals) + self._tail())

    def _people(self, task_id: str, assignee: str | None) -> list[str]:
        if assignee:
            return [assignee]
        people = [login for login, _name in self.engine.people_for_task(task_id)]
        if not people:
            pytest.fail(f"task {task_id}: nobody may work it" + self._tail())
        return people

    def _actor(self, login: str):
        from engine.domain import org
        if login not in self._actors:
            with self.engine.uow() as uow:
                self._actors[login] = org.person_by_login(uow.session, login).actor()
        return self._actors[login]

    def _supervision(self, supervision_id) -> tuple[str, bool] | None:
        """(status, confirmed) of the 督办 a decision step is about."""
        from engine.domain.violations import SupervisionItem
        if not supervision_id:
            return None
        with self.engine.uow() as uow:
            item = uow.session.get(SupervisionItem, supervision_id)
            return (item.status, item.confirmed) if item is not None else None

    def work_all(self, case_ids: set[int] | None = None) -> int:
        """Work open steps (of ``case_ids``, or of every running case) until none is left to work."""
        done = 0
        while True:
            ready = self.ready_tasks(case_ids)
            unknown = sorted({(t[1], t[2]) for t in ready if not self.known(t[1], t[2])})
            if unknown:
                pytest.fail(f"steps without forms in FORMS: {unknown}")
            todo = [t for t in ready if self.workable(t[1], t[2])]
            if not todo:
                return done
            self.work(*todo[0])
            done += 1

    # -- time ---------------------------------------------------------------------------------------
    def fire(self) -> int:
        from engine.timer_service import fire_round
        result = fire_round(self.engine)
        if result.failed:
            pytest.fail(f"timers failed: {result.failed}" + self._tail())
        self.fired.update(result.done)
        return result.fired

    def next_due(self) -> datetime | None:
        from engine.timer_service import due_instants
        return due_instants(self.engine, None)[1]

    def advance_to(self, target: datetime) -> None:
        """Let time run to ``target``: every timer fires at its due instant, and once a day the
        worker's grant jobs (the expiry sweep, the expiry notices)."""
        while True:
            due = self.next_due()
            if due is None or due > target:
                break
            self.clock.set(max(due, self.clock.now()))
            self.daily()
            if not self.fire():
                pytest.fail(f"a timer due at {due} did not fire" + self._tail())
        self.clock.set(max(target, self.clock.now()))
        self.daily()

    def daily(self) -> None:
        from engine.calendar import BEIJING
        from engine.domain.grants import GRANT_EXPIRY_ACTOR, expire_grants
        from engine.grant_service import send_expiry_notices
        now = self.clock.now()
        today = now.astimezone(BEIJING).date()
        if today == self._daily_done:
            return
        self._daily_done = today
        with self.engine.uow() as uow:
            expire_grants(uow, today, GRANT_EXPIRY_ACTOR, now)
            uow.commit()
        send_expiry_notices(self.engine)

    def held_years(self) -> set[int]:
        from engine.models import Deadline
        with self.engine.uow() as uow:
            return {d.year for d in uow.session.scalars(sa.select(Deadline.due_date).where(
                Deadline.state == "waiting", Deadline.held.is_(True))) if d is not None}

    def publish(self, year: int) -> None:
        """The State Council's notice, as an administrator enters it (made up: 1 January only)."""
        from engine.timer_service import publish_year
        with self.engine.uow() as uow:
            if self.engine.calendar(uow.session).is_published(year):
                return
        publish_year(self.engine, year, f"国办发明电〔{year - 1}〕（升级测试）", [date(year, 1, 1)], [], "admin")
        self.log.append(f"{self._when()} {year} published")

    def _when(self) -> str:
        return f"{self.clock.now().astimezone(BEIJING):%Y-%m-%d %H:%M}"

    def _tail(self) -> str:
        return "\n  last actions:\n  " + "\n  ".join(self.log[-15:]) if self.log else ""


# ==================================================================================================
# loading a dump
# ==================================================================================================

def sql_of(info: dict) -> str:
    return gzip.decompress((RELEASES / info["file"]).read_bytes()).decode("utf-8")


def load_sqlite(info: dict, tmp_path: Path) -> str:
    path = tmp_path / "release.sqlite3"
    conn = sqlite3.connect(path)
    try:
        conn.executescript(sql_of(info))
    finally:
        conn.close()
    return f"sqlite:///{path}"


def load_postgresql(info: dict, dumped_schema: str) -> tuple[str, str]:
    """Into a private schema: the dump's schema renamed, run on a connection of its own (it resets
    its search_path), which is thrown away afterwards."""
    url, schema = new_pg_schema_url()
    admin = sa.create_engine(PG_URL, poolclass=sa.pool.NullPool)
    try:
        with admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}"')  # the dump creates it
            conn.connection.driver_connection.execute(sql_of(info).replace(dumped_schema, schema))
    finally:
        admin.dispose()
    return url, schema


def table_counts(db: sa.Engine) -> dict[str, int]:
    with db.connect() as conn:
        return {name: conn.execute(sa.select(sa.func.count()).select_from(sa.table(name))).scalar_one()
                for name in sorted(sa.inspect(db).get_table_names())}


def revision(db: sa.Engine) -> str:
    with db.connect() as conn:
        return conn.execute(sa.text("select version_num from alembic_version")).scalar_one()


# ==================================================================================================
# the test
# ==================================================================================================

@pytest.fixture(params=KINDS)
def kind(request) -> str:
    return request.param


@pytest.mark.parametrize("manifest_path", MANIFESTS, ids=[p.name.split(".")[0] for p in MANIFESTS])
def test_a_release_database_upgrades_verifies_and_every_case_ends(manifest_path, kind, tmp_path):
    from engine.db import create_db_engine
    from engine.migrate import alembic_config, upgrade

    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    info = manifest["dumps"][kind]
    schema = None
    if kind == "sqlite":
        url = load_sqlite(info, tmp_path)
    else:
        url, schema = load_postgresql(info, manifest["pg_schema"])
    county = None
    try:
        # the dump is what the release left: its schema revision, every row
        db = create_db_engine(url)
        assert revision(db) == info["revision"]
        assert table_counts(db) == info["tables"]
        upgrade(db)
        heads = ScriptDirectory.from_config(alembic_config(url)).get_heads()
        assert [revision(db)] == heads
        db.dispose()

        county = County(url, datetime.fromisoformat(manifest["now"]))
        for path in sorted(county.engine.config.bpmn_dir.glob("*.bpmn")):  # as `govflow deploy` after init-db
            county.engine.deploy(path.read_bytes(), "system:upgrade")
        assert county.verify_audit() is None
        audited = county.audit_count()
        assert audited >= info["tables"]["audit_record"]

        expected = {c["id"]: c for c in manifest["cases"]}
        loaded = {c["id"]: c for c in county.cases()}
        assert {i: (c["process_id"], c["status"], c["outcome"], c["open"]) for i, c in loaded.items()} == \
            {i: (c["process_id"], c["status"], c["outcome"], c["open"]) for i, c in expected.items()}
        running = {i for i, c in expected.items() if c["status"] == "running"}
        assert running, "the fixture has no open case"

        # 1. the `act` cases, worked in the state the release left them
        acting = {i for i in running if expected[i]["continue"] == "act"}
        county.work_all(acting)

        # 2. time runs: the `wait` cases' timers act on the loaded state; 2027 is published on the way
        start = county.clock.now()
        county.advance_to(max(start, datetime(*PUBLISHED_ON, tzinfo=BEIJING)))
        county.publish(2027)
        county.advance_to(start + TIME_RUNS)
        waiting = sorted(i for i in running if expected[i]["continue"] == "wait")
        assert [i for i in waiting if not county.fired[i]] == [], \
            "a `wait` case had no timer fired in 30 days: its timers did not survive the upgrade"

        # 3. everything to its end
        finish(county)

        after = {c["id"]: c for c in county.cases()}
        assert {i: c["status"] for i, c in after.items() if c["status"] != "completed"} == {}
        assert set(expected) <= set(after)
        for i, case in expected.items():
            if case["status"] == "completed":
                assert after[i]["outcome"] == case["outcome"], f"case {i} ({case['label']}) changed its outcome"
            else:
                assert after[i]["outcome"], f"case {i} ({case['label']}) ended without an outcome"
        assert county.verify_audit() is None
        assert county.audit_count() > audited
    finally:
        if county is not None:
            county.close()
        if schema is not None:
            drop_pg_schema(schema)


def finish(county: County) -> None:
    """Work every open step; when none is left, let time run to the next due timer; publish a year
    a held timer waits for; fail when a running case has nothing open and nothing to wait for."""
    while True:
        if county.work_all():
            continue
        running = [c for c in county.cases() if c["status"] == "running"]
        if not running:
            return
        if county.fire():
            continue
        due = county.next_due()
        if due is not None:
            if due <= county.clock.now():
                pytest.fail(f"a timer due at {due} does not fire" + county._tail())
            county.advance_to(due)
            continue
        held = county.held_years()
        if held:
            for year in sorted(held):
                county.publish(year)
            continue
        stuck = {c["id"]: (c["process_id"], c["open"], county.waiting(c["id"])) for c in running}
        pytest.fail(f"cases cannot continue (no step to work, no timer to wait for): {stuck}" + county._tail())

