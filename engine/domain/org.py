"""Departments, people and roles (procedures.md, table of actors), and role resolution."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from ..errors import GovflowError, NotFound
from ..models import Base, HumanTask, UTCDateTime
from ..uow import Actor

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


@dataclass(frozen=True)
class PersonView:
    login: str
    display_name: str
    department_code: str
    department_name: str
    roles: frozenset[str]


def hash_password(password: str) -> str:
    if len(password) < 8:
        raise GovflowError("密码至少 8 位 (a password needs at least 8 characters)")
    return _hasher.hash(password)


def check_password(person: Person, password: str) -> bool:
    try:
        return _hasher.verify(person.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def department_by_code(session: Session, code: str) -> Department:
    dept = session.scalars(sa.select(Department).where(Department.code == code)).first()
    if dept is None:
        raise NotFound(f"部门 {code} 不存在 (no such department)")
    return dept


def person_by_login(session: Session, login: str) -> Person | None:
    return session.scalars(sa.select(Person).where(Person.login == login)).first()


def create_department(session: Session, code: str, name: str, kind: str) -> Department:
    if kind not in DEPARTMENT_KINDS:
        raise GovflowError(f"未知的部门类型 {kind!r} (unknown department kind)")
    if not code.strip() or not name.strip():
        raise GovflowError("部门代码和名称必填 (code and name are required)")
    if session.scalars(sa.select(Department).where(
            sa.or_(Department.code == code, Department.name == name))).first():
        raise GovflowError(f"部门 {code} / {name} 已存在 (the department exists already)")
    dept = Department(code=code.strip(), name=name.strip(), kind=kind)
    session.add(dept)
    session.flush()
    return dept


def create_person(session: Session, login: str, display_name: str, department: Department,
                  roles: set[str], password: str, now: datetime) -> Person:
    if not LOGIN_NAME.match(login):
        raise GovflowError(f"登录名 {login!r} 无效：小写字母开头，2–64 位字母数字 (invalid login name)")
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise GovflowError(f"未知角色 {sorted(unknown)} (unknown roles)")
    if person_by_login(session, login) is not None:
        raise GovflowError(f"登录名 {login} 已被使用 (the login name is taken)")
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
    """Role resolution: the people who may work a task (assignee, candidate users, or the role
    within the department the task belongs to)."""
    if task.assignee:
        person = person_by_login(session, task.assignee)
        return [person] if person is not None and person.active else []
    found = {p.login: p for p in (person_by_login(session, u) for u in task.users()) if p and p.active}
    for role in task.groups():
        for person in people_for(session, role, task.department):
            found.setdefault(person.login, person)
    return sorted(found.values(), key=lambda p: p.login)
