"""Read models of the administration (管理): the overview, people, departments, the working-day
calendar and the deadlines its changes moved; and the health check's database probe. Each is one
unit of work returning frozen dataclasses."""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa

from .. import calendar_store
from ..domain import org
from ..domain.org import Department, Person
from ..errors import NotFound
from ..models import AuditRecord, Case, CalendarOverride, CalendarYear, Deadline, HumanTask
from ..service import may_see_case
from ..uow import Actor
from ..messages import msg

ROLES = org.ROLES  # role -> its name, what the person form offers
DEPARTMENT_KINDS = org.DEPARTMENT_KINDS
CALENDAR_CHANGED = "calendar changed"  # engine.timer_service: the reason of a re-projected deadline


# -- the calendar -------------------------------------------------------------------------------

@dataclass(frozen=True)
class CalendarStatus:
    published_years: list[int]
    missing_year: int | None  # the year whose schedule is missing (from 1 December: the next)
    after_hours_policy: str


def calendar_status(engine, today: date) -> CalendarStatus:
    """Published years, the missing-year warning and the after-hours policy."""
    with engine.uow() as uow:
        return _status(engine, uow.session, today)


def _status(engine, session, today: date) -> CalendarStatus:
    cal = engine.calendar(session)
    return CalendarStatus(sorted(cal.published_years), cal.missing_next_year_warning(today),
                          calendar_store.after_hours_policy(session, engine.config.after_hours_policy))


@dataclass(frozen=True)
class PublishedYear:
    year: int
    document: str
    entered_by: str
    entered_at: datetime


@dataclass(frozen=True)
class DateCorrection:
    day: date
    working: bool
    note: str
    entered_by: str
    entered_at: datetime


@dataclass(frozen=True)
class CalendarPage:
    status: CalendarStatus
    package_years: range  # what the installed holiday package covers
    coverage: list[tuple[int, str, PublishedYear | None]]  # year, "package"|"administrator"|"missing", notice
    corrections: list[DateCorrection]  # newest first, from last year on


def calendar_page(engine, today: date, corrections: int = 400) -> CalendarPage:
    """Coverage by year (last year to two years ahead, and every published one), the status and the
    dates administrators entered."""
    with engine.uow() as uow:
        s = uow.session
        status = _status(engine, s, today)
        package = engine.calendar(s).package_years
        published = {r.year: PublishedYear(r.year, r.document, r.entered_by, r.entered_at)
                     for r in s.scalars(sa.select(CalendarYear))}
        rows = s.scalars(sa.select(CalendarOverride).where(CalendarOverride.day >= date(today.year - 1, 1, 1))
                         .order_by(CalendarOverride.day.desc()).limit(corrections))
        entered = [DateCorrection(r.day, r.working, r.note, r.entered_by, r.entered_at) for r in rows]
    years = sorted({*range(today.year - 1, today.year + 3), *published})
    coverage = [(y, "package" if y in package else "administrator" if y in published else "missing",
                 published.get(y)) for y in years]
    return CalendarPage(status, package, coverage, entered)


def package_years(engine) -> range:
    """The years the installed holiday package covers (an administrator publishes the others)."""
    with engine.uow() as uow:
        return engine.calendar(uow.session).package_years


@dataclass(frozen=True)
class CaseRef:
    id: int
    number: str | None
    title: str


@dataclass(frozen=True)
class MovedDeadline:
    at: datetime
    who: str
    case: CaseRef | None
    visible: bool  # the reader may open the case
    task: str | None
    old: str | None  # due instants as recorded (ISO)
    new: str | None
    provisional: bool


@dataclass(frozen=True)
class MovedPage:
    rows: list[MovedDeadline]  # newest first
    total: int


def moved_deadlines(engine, actor: Actor, limit: int, offset: int) -> MovedPage:
    """Running deadlines a calendar change re-projected (the audit's ``deadline_moved`` records)."""
    query = sa.select(AuditRecord).where(AuditRecord.action == "deadline_moved",
                                         AuditRecord.summary.like(f'%"reason": "{CALENDAR_CHANGED}"%'))
    with engine.uow() as uow:
        s = uow.session
        total = s.scalar(sa.select(sa.func.count()).select_from(query.subquery())) or 0
        records = list(s.scalars(query.order_by(AuditRecord.id.desc()).limit(limit).offset(offset)))
        cases = {c.id: c for c in s.scalars(sa.select(Case).where(Case.id.in_({r.case_id for r in records})))}
        tasks = dict(s.execute(sa.select(Deadline.id, HumanTask.name).join(
            HumanTask, HumanTask.id == Deadline.human_task_id).where(Deadline.id.in_({r.task_id for r in records}))).all())
        visible = {cid for cid, c in cases.items() if may_see_case(s, c, actor)}
        refs = {cid: CaseRef(c.id, c.number, c.title) for cid, c in cases.items()}
    return MovedPage([_moved(r, refs.get(r.case_id), tasks.get(r.task_id), r.case_id in visible)
                      for r in records], total)


def _moved(record: AuditRecord, case: CaseRef | None, task: str | None, visible: bool) -> MovedDeadline:
    summary = json.loads(record.summary or "{}")
    return MovedDeadline(record.at, record.actor, case, visible, task, summary.get("old"), summary.get("new"),
                         bool(summary.get("provisional")))


# -- people and departments ---------------------------------------------------------------------

@dataclass(frozen=True)
class Overview:
    people: int  # active
    departments: int
    status: CalendarStatus


def overview(engine, today: date) -> Overview:
    """How many active people and departments, and the calendar's state."""
    with engine.uow() as uow:
        s = uow.session
        people = s.scalar(sa.select(sa.func.count()).select_from(Person).where(Person.active.is_(True)))
        departments = s.scalar(sa.select(sa.func.count()).select_from(Department))
        return Overview(people or 0, departments or 0, _status(engine, s, today))


@dataclass(frozen=True)
class DepartmentRef:
    code: str
    name: str


@dataclass(frozen=True)
class PersonRow:
    login: str
    display_name: str
    department: DepartmentRef
    roles: frozenset[str]
    active: bool


@dataclass(frozen=True)
class PeoplePage:
    people: list[PersonRow]
    total: int
    departments: list[tuple[str, str]]  # every department (code, name), for the filter


def people_page(engine, department: str, search: str, limit: int, offset: int) -> PeoplePage:
    """Everyone, filtered by department code and a search over login and name, by department and login."""
    query = sa.select(Person).join(Department, Person.department_id == Department.id)
    if department:
        query = query.where(Department.code == department)
    if search:
        like = f"%{search.replace('%', '').replace('_', '')}%"
        query = query.where(sa.or_(Person.login.like(like), Person.display_name.like(like)))
    with engine.uow() as uow:
        s = uow.session
        total = s.scalar(sa.select(sa.func.count()).select_from(query.subquery())) or 0
        rows = [_person_row(p) for p in s.scalars(query.order_by(Department.code, Person.login)
                                                  .limit(limit).offset(offset))]
        return PeoplePage(rows, total, _department_choices(s))


def _person_row(p: Person) -> PersonRow:
    return PersonRow(p.login, p.display_name, DepartmentRef(p.department.code, p.department.name), p.roles, p.active)


@dataclass(frozen=True)
class PersonForm:
    person: PersonRow | None
    departments: list[tuple[str, str]]  # the choices (code, name)


def person_form(engine, login: str | None = None) -> PersonForm:
    """What the person form shows: the person (``login``; ``NotFound`` when there is none) and the
    departments to choose from."""
    with engine.uow() as uow:
        found = org.person_by_login(uow.session, login) if login is not None else None
        if login is not None and found is None:
            raise NotFound(msg("person.not_found", "no such person"))
        return PersonForm(_person_row(found) if found is not None else None, _department_choices(uow.session))


def _department_choices(session) -> list[tuple[str, str]]:
    return [(d.code, d.name) for d in session.scalars(sa.select(Department).order_by(Department.code))]


@dataclass(frozen=True)
class DepartmentRow:
    code: str
    name: str
    kind: str
    head: str | None  # the head's (数长) name
    active_people: int


def departments_page(engine) -> list[DepartmentRow]:
    """Every department with its kind, head and number of active people, by code."""
    with engine.uow() as uow:
        s = uow.session
        rows = list(s.scalars(sa.select(Department).order_by(Department.code)))
        counts = dict(s.execute(sa.select(Person.department_id, sa.func.count()).where(Person.active.is_(True))
                                .group_by(Person.department_id)).all())
        heads = {p.id: p.display_name for p in s.scalars(sa.select(Person).where(
            Person.id.in_([d.head_id for d in rows if d.head_id])))}
        return [DepartmentRow(d.code, d.name, d.kind, heads.get(d.head_id), counts.get(d.id, 0)) for d in rows]


@dataclass(frozen=True)
class DepartmentForm:
    code: str
    name: str
    kind: str
    head: str  # the head's login, "" for none
    members: list[tuple[str, str]]  # active members (login, name), the head's choices


def department_form(engine, code: str) -> DepartmentForm:
    """A department as its form shows it (``NotFound`` when there is none)."""
    with engine.uow() as uow:
        s = uow.session
        found = org.department_by_code(s, code)
        head = s.get(Person, found.head_id) if found.head_id else None
        members = [(p.login, p.display_name) for p in s.scalars(
            sa.select(Person).where(Person.department_id == found.id, Person.active.is_(True)).order_by(Person.login))]
        return DepartmentForm(found.code, found.name, found.kind, head.login if head else "", members)


# -- operations ---------------------------------------------------------------------------------

def workers_alive(engine) -> int:
    """Timer workers with a heartbeat in the last two minutes (engine.metrics)."""
    from ..metrics import workers_alive as alive
    with engine.uow(read_only=True) as uow:
        return alive(uow.session, engine.clock.now())


def database_problem(engine) -> str | None:
    """None when the database answers a trivial query, else what went wrong."""
    try:
        with engine.uow(read_only=True) as uow:
            uow.session.execute(sa.text("SELECT 1"))
    except sa.exc.SQLAlchemyError as exc:
        return f"{type(exc).__name__}: {exc}"
    return None
