"""Administrators' verbs on people (用户): create, edit, reset the password. Each is one audited
unit of work; refused with ``InvalidForm`` (errors per field) as ``engine.domain.org`` checks."""
from __future__ import annotations

from ..domain import org
from ..errors import NotFound
from ..messages import msg
from ..uow import Actor


def add_person(engine, actor: Actor, login: str, display_name: str, department: str, roles: set[str],
               password: str) -> str:
    """Create a person with a department, roles and a first password (``passwords``: strong enough);
    return the login."""
    org.require_admin(actor)
    with engine.uow() as uow:
        person = org.add_person(uow, login, display_name, department, roles, password, actor.username,
                                engine.clock.now())
        login = person.login
        uow.commit()
    return login


def update_person(engine, actor: Actor, login: str, display_name: str, department: str, roles: set[str],
                  active: bool) -> int:
    """Change a person's name, department, roles or active flag; return how many claimed tasks went
    back to the shared inbox."""
    org.require_admin(actor)
    with engine.uow() as uow:
        if org.person_by_login(uow.session, login) is None:
            raise NotFound(msg("person.not_found", "no such person"))
        released = org.update_person(uow, login, display_name, department, roles, active, actor.username,
                                     engine.clock.now())
        uow.commit()
    return released


def reset_password(engine, actor: Actor, login: str, password: str) -> None:
    """Give a person a new password (strong enough; audited without it); ends their sessions and
    revokes their API tokens."""
    org.require_admin(actor)
    with engine.uow() as uow:
        org.reset_password(uow, login, password, actor.username, engine.clock.now())
        uow.commit()


def end_sessions(engine, actor: Actor, login: str) -> None:
    """An administrator ends every session of ``login`` (they must log in again; tokens stay)."""
    org.require_admin(actor)
    with engine.uow() as uow:
        person = org.person_by_login(uow.session, login)
        if person is None:
            raise NotFound(msg("org.no_person", "no person with login {login}", login=login))
        org.end_sessions(uow, person, actor.username, engine.clock.now())
        uow.commit()
