"""Departments, people and roles (docs/procedures.md, table of actors), and role resolution."""
from __future__ import annotations

import re
from datetime import datetime

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from .. import audit, memo
from ..errors import GovflowError, InvalidForm, NotFound, PermissionDenied
from ..messages import Message, msg
from ..models import Base, HumanTask, UTCDateTime
from ..uow import Actor
from .passwords import weakness

ROLES = {
    "provider_clerk": "数据提供部门经办人",
    "consumer_clerk": "数据使用部门经办人",
    "dept_head": "数长（部门主要负责人）",
    "authority": "政务数据资源主管部门",
    "county_gov": "县人民政府",
    "discipline": "处分决定机关",
    "analyst": "流程分析员",
    "admin": "系统管理员",
}
# Roles that act for the whole county, not for one department's own cases.
COUNTY_WIDE_ROLES = frozenset({"authority", "county_gov", "discipline", "analyst", "admin"})

DEPARTMENT_KINDS = {
    "county_department": "县直部门",
    "township": "乡镇",
    "public_service": "公共服务企事业单位（第二条）",
    "authority": "政务数据资源主管部门",
    "county_government": "县人民政府",
    "discipline": "处分决定机关",
}

_hasher = PasswordHasher()
LOGIN_NAME = re.compile(r"^[a-z][a-z0-9_.-]{1,63}$")


class Department(Base):
    __tablename__ = "department"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(40), unique=True)  # 统一社会信用代码 or internal code
    name: Mapped[str] = mapped_column(sa.String(200), unique=True)
    kind: Mapped[str] = mapped_column(sa.String(40))
    head_id: Mapped[int | None] = mapped_column(sa.ForeignKey("person.id", use_alter=True,
                                                              name="fk_department_head_id_person"))
    active: Mapped[bool] = mapped_column(default=True)


class Person(Base):
    __tablename__ = "person"

    id: Mapped[int] = mapped_column(primary_key=True)
    login: Mapped[str] = mapped_column(sa.String(64), unique=True)
    display_name: Mapped[str] = mapped_column(sa.String(100))
    department_id: Mapped[int] = mapped_column(sa.ForeignKey("department.id"), index=True)
    password_hash: Mapped[str] = mapped_column(sa.String(200))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # A session carries the epoch it began in; raising it ends every session of the person (issue 15).
    session_epoch: Mapped[int] = mapped_column(default=0, server_default="0")

    department: Mapped[Department] = relationship(foreign_keys=[department_id], lazy="joined")
    role_rows: Mapped[list["PersonRole"]] = relationship(cascade="all, delete-orphan", lazy="selectin")

    @property
    def roles(self) -> frozenset[str]:
        return frozenset(r.role for r in self.role_rows)

    def actor(self) -> Actor:
        return Actor(self.login, self.roles, self.department.code)


class PersonRole(Base):
    __tablename__ = "person_role"
    __table_args__ = (sa.Index("ix_person_role_role", "role", "person_id"),)

    person_id: Mapped[int] = mapped_column(sa.ForeignKey("person.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[str] = mapped_column(sa.String(40), primary_key=True)


def require_admin(actor: Actor) -> None:
    """Only administrators manage people, departments and the calendar."""
    if "admin" not in actor.roles:
        raise PermissionDenied(msg("org.admin_only", "administrators only"))


def hash_password(password: str) -> str:
    if len(password) < 8:
        raise GovflowError(_password_too_short())
    return _hasher.hash(password)


def check_password(person: Person, password: str) -> bool:
    try:
        return _hasher.verify(person.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def department_by_code(session: Session, code: str) -> Department:
    """The department with this code (looked up once per unit of work)."""
    dept = memo.remember(session, ("department", code), lambda: session.scalars(
        sa.select(Department).where(Department.code == code)).first())
    if dept is None:
        memo.forget(session, ("department", code))
        raise NotFound(msg("org.no_department", "no such department", department_code=code))
    return dept


def person_by_login(session: Session, login: str) -> Person | None:
    return session.scalars(sa.select(Person).where(Person.login == login)).first()


def create_department(session: Session, code: str, name: str, kind: str) -> Department:
    if kind not in DEPARTMENT_KINDS:
        raise GovflowError(_unknown_kind(kind))
    if not code.strip() or not name.strip():
        raise GovflowError(msg("org.department_code_name_required", "code and name are required"))
    if session.scalars(sa.select(Department).where(
            sa.or_(Department.code == code, Department.name == name))).first():
        raise GovflowError(msg("org.department_exists",
                               "the department exists already", department_code=code, name=name))
    dept = Department(code=code.strip(), name=name.strip(), kind=kind)
    session.add(dept)
    session.flush()
    return dept


def create_person(session: Session, login: str, display_name: str, department: Department,
                  roles: set[str], password: str, now: datetime) -> Person:
    if not LOGIN_NAME.match(login):
        raise GovflowError(msg("org.invalid_login", "invalid login name {login!r}", login=login))
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise GovflowError(_unknown_roles(unknown))
    if person_by_login(session, login) is not None:
        raise GovflowError(_login_taken(login))
    person = Person(login=login, display_name=display_name.strip() or login, department=department,
                    password_hash=hash_password(password), created_at=now)
    person.role_rows = [PersonRole(role=r) for r in sorted(roles)]
    session.add(person)
    session.flush()
    if "dept_head" in roles and department.head_id is None:
        department.head_id = person.id  # art. 5: each department's 数长
    return person


def authenticate(session: Session, login: str, password: str) -> Person | None:
    """The active person with this login and password, or None (no hint which part was wrong)."""
    person = person_by_login(session, login)
    if person is None or not person.active:
        _hasher.hash("timing-equaliser")  # same cost whether or not the login exists
        return None
    return person if check_password(person, password) else None


def people_for(session: Session, role: str, department_code: str | None) -> list[Person]:
    """Who holds ``role`` within ``department_code`` (any department if None), active only."""
    query = sa.select(Person).join(PersonRole).where(PersonRole.role == role, Person.active.is_(True))
    if department_code is not None and role not in COUNTY_WIDE_ROLES:
        query = query.join(Department, Person.department_id == Department.id).where(
            Department.code == department_code)
    return list(session.scalars(query.order_by(Person.login)))


def eligible_people(session: Session, task: HumanTask) -> list[Person]:
    """Role resolution: the people who may work a task (the rule: engine.eligibility)."""
    from ..eligibility import eligible_people
    return eligible_people(session, task)


def eligible_logins(session: Session, task: HumanTask) -> list[str]:
    """The logins of ``eligible_people(task)``, in one query (who to notify of a new task)."""
    from ..eligibility import eligible_logins
    return eligible_logins(session, task)


# -- administration: every change validated and audited ---------------------------------------

DEPARTMENT_CODE = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
NAME_LENGTH = 100
DEPARTMENT_NAME_LENGTH = 200


def add_department(uow, code: str, name: str, kind: str, by: str, now: datetime) -> Department:
    """Create a department (audited); errors per field."""
    code, name = (code or "").strip(), (name or "").strip()
    errors = _department_errors(uow.session, name, kind, None)
    if not DEPARTMENT_CODE.match(code):
        errors["code"] = msg("org.bad_department_code", "1 to 40 letters, digits, - or _")
    elif uow.session.scalars(sa.select(Department.id).where(Department.code == code)).first():
        errors["code"] = msg("org.department_code_taken", "the department code is taken", department_code=code)
    if errors:
        raise InvalidForm(errors)
    dept = create_department(uow.session, code, name, kind)
    uow.record(audit.Entry(now, by, "department_created", summary={"code": code, "name": name, "kind": kind}))
    return dept


def update_department(uow, code: str, name: str, kind: str, head_login: str | None, by: str,
                      now: datetime) -> Department:
    """Rename a department, change its kind or its head (数长, art. 5); audited with the changes."""
    dept = department_by_code(uow.session, code)
    name = (name or "").strip()
    errors = _department_errors(uow.session, name, kind, dept.id)
    head = person_by_login(uow.session, head_login) if head_login else None
    if head_login and (head is None or head.department_id != dept.id or not head.active):
        errors["head"] = msg("org.head_not_member", "the head must be an active member of the department")
    if errors:
        raise InvalidForm(errors)
    changes = _changes(dept, {"name": name, "kind": kind, "head_id": head.id if head else None})
    if "head_id" in changes:
        changes["head"] = head_login or None
        del changes["head_id"]
    dept.name, dept.kind, dept.head_id = name, kind, head.id if head else None
    if changes:
        uow.record(audit.Entry(now, by, "department_updated", summary={"code": code, "changes": changes}))
    return dept


def _department_errors(session: Session, name: str, kind: str, own_id: int | None) -> dict[str, str]:
    errors = {}
    if kind not in DEPARTMENT_KINDS:
        errors["kind"] = _unknown_kind(kind)
    if not name or len(name) > DEPARTMENT_NAME_LENGTH:
        errors["name"] = msg("org.department_name_required",
                             "the name of the department is required, at most {max_length} characters",
                             max_length=DEPARTMENT_NAME_LENGTH)
    elif session.scalars(sa.select(Department.id).where(Department.name == name, Department.id != own_id)).first():
        errors["name"] = msg("org.department_name_taken", "a department with this name exists", name=name)
    return errors


def add_person(uow, login: str, display_name: str, department_code: str, roles: set[str], password: str,
               by: str, now: datetime) -> Person:
    """Create a person (audited, never with the password); errors per field."""
    login = (login or "").strip()
    errors = _person_errors(uow.session, display_name, department_code, roles)
    if not LOGIN_NAME.match(login):
        errors["login"] = msg("org.login_pattern", "invalid login name: a lowercase letter first, "
                                                   "2 to 64 lowercase letters, digits, . _ -")
    elif person_by_login(uow.session, login) is not None:
        errors["login"] = _login_taken(login)
    if len(password or "") < 8:
        errors["password"] = _password_too_short()
    elif weak := weakness(password, login, display_name):  # an administrator's choice: strong enough
        errors["password"] = weak
    if errors:
        raise InvalidForm(errors)
    person = create_person(uow.session, login, display_name.strip(), department_by_code(uow.session, department_code),
                           set(roles), password, now)
    uow.record(audit.Entry(now, by, "person_created", summary={
        "login": login, "department": department_code, "roles": sorted(roles)}))
    return person


def update_person(uow, login: str, display_name: str, department_code: str, roles: set[str], active: bool,
                  by: str, now: datetime) -> int:
    """Change a person's name, department, roles or active flag (audited); return how many of their
    claimed tasks went back to the shared inbox because they may no longer work them."""
    person = person_by_login(uow.session, login)
    if person is None:
        raise NotFound(msg("org.no_person", "no person with login {login}", login=login))
    errors = _person_errors(uow.session, display_name, department_code, roles)
    if login == by and (not active or "admin" not in roles):
        errors["roles"] = msg("org.cannot_demote_self", "you cannot deactivate yourself or drop your own admin role")
    elif "admin" in person.roles and (not active or "admin" not in roles) and _other_admins(uow.session, person.id) == 0:
        errors["roles"] = msg("org.last_admin", "keep at least one active administrator")
    if errors:
        raise InvalidForm(errors)
    dept = department_by_code(uow.session, department_code)
    changes = _changes(person, {"display_name": display_name.strip(), "department_id": dept.id, "active": active})
    if "department_id" in changes:
        changes["department"] = [person.department.code, dept.code]
        del changes["department_id"]
    if set(roles) != set(person.roles):
        changes["roles"] = [sorted(person.roles), sorted(roles)]
    person.display_name, person.department, person.active = display_name.strip(), dept, active
    person.role_rows = [r for r in person.role_rows if r.role in roles] + \
                       [PersonRole(role=r) for r in sorted(set(roles) - set(person.roles))]
    released = _release_tasks(uow, person, set(roles), dept.code, active, by, now) if changes else 0
    if "roles" in changes or "active" in changes or "department" in changes:
        end_sessions(uow, person, by, now, revoke_tokens=not active, why="person_updated")
    if changes:
        uow.record(audit.Entry(now, by, "person_updated", summary={"login": login, "changes": changes,
                                                                   "released_tasks": released}))
    return released


def reset_password(uow, login: str, password: str, by: str, now: datetime) -> None:
    """Give a person a new password (audited without it)."""
    person = person_by_login(uow.session, login)
    if person is None:
        raise NotFound(msg("org.no_person", "no person with login {login}", login=login))
    if len(password or "") < 8:
        raise InvalidForm({"password": _password_too_short()})
    if weak := weakness(password, login, person.display_name):
        raise InvalidForm({"password": weak})
    person.password_hash = hash_password(password)
    uow.record(audit.Entry(now, by, "password_reset", summary={"login": login}))
    end_sessions(uow, person, by, now, revoke_tokens=True, why="password_reset")


def end_sessions(uow, person: Person, by: str, now: datetime, *, revoke_tokens: bool = False,
                 why: str = "ended_by_admin") -> int:
    """End every session of ``person`` (the epoch their cookies carry no longer matches) and, with
    ``revoke_tokens``, revoke their API tokens; audited. Returns how many tokens were revoked."""
    from .api_tokens import revoke_all
    person.session_epoch = (person.session_epoch or 0) + 1
    revoked = revoke_all(uow, person, by, now) if revoke_tokens else 0
    uow.record(audit.Entry(now, by, "sessions_ended", summary={"login": person.login, "why": why,
                                                               "tokens_revoked": revoked}))
    return revoked


def _person_errors(session: Session, display_name: str, department_code: str, roles: set[str]) -> dict[str, str]:
    errors = {}
    name = (display_name or "").strip()
    if not name or len(name) > NAME_LENGTH:
        errors["display_name"] = msg("org.person_name_required",
                                     "the name is required, at most {max_length} characters", max_length=NAME_LENGTH)
    if not session.scalars(sa.select(Department.id).where(Department.code == (department_code or ""))).first():
        errors["department"] = msg("org.choose_department", "choose a department")
    unknown = set(roles) - set(ROLES)
    if unknown:
        errors["roles"] = _unknown_roles(unknown)
    return errors


def _password_too_short() -> Message:
    return msg("org.password_too_short", "a password needs at least 8 characters")


def _unknown_kind(kind: str) -> Message:
    return msg("org.unknown_department_kind", "unknown department kind {kind!r}", kind=kind)


def _unknown_roles(unknown: set[str]) -> Message:
    return msg("org.unknown_roles", "unknown roles {roles}", roles=", ".join(sorted(unknown)))


def _login_taken(login: str) -> Message:
    return msg("org.login_taken", "the login name is taken", login=login)


def _other_admins(session: Session, person_id: int) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(Person).join(PersonRole).where(
        PersonRole.role == "admin", Person.active.is_(True), Person.id != person_id)) or 0


def _changes(row, values: dict) -> dict:
    return {k: [getattr(row, k), v] for k, v in values.items() if getattr(row, k) != v}


def _release_tasks(uow, person: Person, roles: set[str], department: str, active: bool, by: str,
                   now: datetime) -> int:
    """Claimed open tasks the person may no longer work go back to the shared inbox of their role
    (only tasks offered to a role or to named people; a task for this person alone stays)."""
    released = 0
    for row in uow.session.scalars(sa.select(HumanTask).where(HumanTask.assignee == person.login,
                                                              HumanTask.state == "ready")):
        offered = bool(row.groups() or row.users())
        still = active and (person.login in row.users() or (
            bool(roles.intersection(row.groups())) and row.department in (None, department)))
        if offered and not still:
            row.assignee = None
            uow.record(audit.Entry(now, by, "task_unclaimed", row.case_id, row.id,
                                   summary={"from": person.login, "reason": "person_updated"}))
            released += 1
    return released
