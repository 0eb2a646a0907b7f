"""A person's verbs on their own API tokens: create one (its secret is returned this once, only its
digest is kept) and revoke one. Each is one audited unit of work."""
from __future__ import annotations

from ..domain import api_tokens, org, throttle
from ..errors import NotFound
from ..uow import Actor
from ..messages import msg


def create_token(engine, actor: Actor, name: str) -> str:
    """A new token for the acting person; return its secret (``InvalidForm`` for the name,
    ``GovflowError`` past ``api_tokens.MAX_ACTIVE``, ``TooManyRequests`` past the hourly limit)."""
    with engine.uow() as uow:
        now = engine.clock.now()
        throttle.check(uow.session, "token", actor.username, now)
        secret = api_tokens.create_token(uow, _me(uow, actor), name, now)[1]
        throttle.record(uow.session, "token", actor.username, now)
        uow.commit()
    return secret


def revoke_token(engine, actor: Actor, token_id: int) -> str:
    """Revoke one of the acting person's active tokens; return its name (``NotFound`` otherwise)."""
    with engine.uow() as uow:
        name = api_tokens.revoke_token(uow, _me(uow, actor), token_id, engine.clock.now()).name
        uow.commit()
    return name


def _me(uow, actor: Actor):
    person = org.person_by_login(uow.session, actor.username)
    if person is None or not person.active:
        raise NotFound(msg("person.not_found", "no such person"))
    return person
