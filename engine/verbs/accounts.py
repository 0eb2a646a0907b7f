"""A person's own verbs: log in (rate-limited, audited either way), log out, mark notifications read."""
from __future__ import annotations

from typing import Iterable

from .. import audit
from ..domain import logins, notifications, org
from ..domain.logins import TooManyFailures
from ..uow import Actor
from ..views.accounts import SessionPerson, session_person

__all__ = ["TooManyFailures", "log_in", "log_in_external", "log_out", "mark_notifications_read"]


def log_in(engine, login: str, password: str, ip: str) -> SessionPerson | None:
    """The person for a right login and password, None for a wrong one (both audited); raises
    ``TooManyFailures``, changing nothing, past the failure limit of this login and address."""
    with engine.uow() as uow:
        person = logins.log_in(uow, login, password, ip, engine.clock.now())
        found = session_person(person) if person is not None else None
        uow.commit()
    return found


def log_in_external(engine, login: str, issuer: str, subject: str, ip: str) -> SessionPerson | None:
    """The active person ``login`` whom the identity platform ``issuer`` vouched for (OpenID
    Connect; ``subject``: its id of the person), audited; None when no such active account exists
    here (people are created by the county's administrators, never by a log-in)."""
    with engine.uow() as uow:
        now = engine.clock.now()
        person = org.person_by_login(uow.session, (login or "").strip().lower()[:64])
        if person is None or not person.active:
            uow.record(audit.Entry(now, logins.ANONYMOUS, "login_failed", summary={
                "login": (login or "")[:64], "ip": ip[:64], "via": "oidc", "issuer": issuer, "reason": "no account"}))
            uow.commit()
            return None
        uow.record(audit.Entry(now, person.login, "login", summary={
            "ip": ip[:64], "via": "oidc", "issuer": issuer, "subject": subject[:200]}))
        found = session_person(person)
        uow.commit()
    return found


def log_out(engine, actor: Actor, ip: str) -> None:
    """Record the log-out and end every session of the person, this one and any other (a copied
    cookie opens nothing any more); the front end forgets the session."""
    with engine.uow() as uow:
        now = engine.clock.now()
        logins.log_out(uow, actor.username, ip, now)
        person = org.person_by_login(uow.session, actor.username)
        if person is not None:
            org.end_sessions(uow, person, actor.username, now, why="logout")
        uow.commit()


def mark_notifications_read(engine, actor: Actor, ids: Iterable[int] | None = None) -> int:
    """Mark the acting person's unread notifications read (all, or those in ``ids``); return how many."""
    with engine.uow() as uow:
        changed = notifications.mark_read(uow.session, actor.username, engine.clock.now(), ids)
        uow.commit()
    return changed
