"""Read models of a person's own pages: who is logged in, the home page, the bell and its list,
and the API tokens."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from .. import definitions, inbox
from ..domain import api_tokens, notifications, org
from ..uow import Actor

TOKEN_NAME_LENGTH = api_tokens.MAX_NAME


@dataclass(frozen=True)
class SessionPerson:
    """The logged-in person as a front end keeps them for one request."""

    id: int
    login: str
    display_name: str
    department_code: str
    department_name: str
    roles: frozenset[str]
    epoch: int = 0  # the person's session epoch when the session began (ended when it moves on)

    @property
    def session_id(self) -> str:
        """What the session cookie keeps: ``<person id>:<epoch>``."""
        return f"{self.id}:{self.epoch}"


def session_person(person: org.Person) -> SessionPerson:
    return SessionPerson(person.id, person.login, person.display_name, person.department.code,
                         person.department.name, person.roles, person.session_epoch or 0)


def person_for_session(engine, session_id: str) -> SessionPerson | None:
    """The active person of a session ``<person id>:<epoch>``; None when the person is gone or
    deactivated, or their sessions were ended since (log-out, password reset, role change, an
    administrator's decision: the epoch moved on), or the id is malformed (a cookie from before)."""
    person_id, _, epoch = (session_id or "").partition(":")
    if not (person_id.isdigit() and epoch.isdigit()) or int(person_id) > 2**31 - 1:
        return None
    with engine.uow() as uow:
        person = uow.session.get(org.Person, int(person_id))
        if person is None or not person.active or (person.session_epoch or 0) != int(epoch):
            return None
        return session_person(person)


def person_by_login_for_session(engine, login: str) -> SessionPerson | None:
    """The active person ``login`` in their current session epoch (to renew one's own session)."""
    with engine.uow() as uow:
        person = org.person_by_login(uow.session, login)
        return session_person(person) if person is not None and person.active else None


@dataclass(frozen=True)
class Process:
    process_id: str
    name: str
    version: int


@dataclass(frozen=True)
class Home:
    counts: dict[str, int]  # inbox tab -> entries (engine.inbox.TABS)
    processes: list[Process]  # the newest version of each deployed process


def home(engine, actor: Actor) -> Home:
    """How much waits in each inbox tab, and the deployed processes."""
    with engine.uow() as uow:
        counts = inbox.tab_counts(uow.session, actor)
        processes = [Process(d.process_id, d.name, d.version) for d in definitions.list_latest(uow.session)]
    return Home(counts, processes)


@dataclass(frozen=True)
class Notification:
    id: int
    kind: str
    case_id: int | None
    task_id: str | None
    text: str
    created_at: datetime
    read_at: datetime | None


@dataclass(frozen=True)
class NotificationPage:
    items: list[Notification]  # newest first
    total: int


def unread_notifications(engine, actor: Actor) -> int:
    """The bell's count."""
    with engine.uow() as uow:
        return notifications.unread_count(uow.session, actor.username)


def notification_page(engine, actor: Actor, limit: int, offset: int) -> NotificationPage:
    """One page of my notifications, and how many I have."""
    with engine.uow() as uow:
        rows = notifications.recent(uow.session, actor.username, limit, offset)
        items = [Notification(n.id, n.kind, n.case_id, n.task_id, n.text, n.created_at, n.read_at) for n in rows]
        return NotificationPage(items, notifications.total_count(uow.session, actor.username))


@dataclass(frozen=True)
class Token:
    id: int
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None


def my_tokens(engine, actor: Actor) -> list[Token]:
    """My API tokens that still work, newest first."""
    with engine.uow() as uow:
        person = org.person_by_login(uow.session, actor.username)
        rows = api_tokens.active_tokens(uow.session, person.id) if person is not None else []
        return [Token(t.id, t.name, t.prefix, t.created_at, t.last_used_at) for t in rows]
