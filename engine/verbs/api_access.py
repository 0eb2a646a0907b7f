"""The JSON API's log-in: a personal API token (``Authorization: Bearer <token>``) stands for its
person, with exactly that person's roles and department."""
from __future__ import annotations

from ..domain import api_tokens
from ..uow import Actor


def authenticate(engine, token: str) -> Actor | None:
    """The active person an active token belongs to, or None; notes when the token was last used."""
    with engine.uow() as uow:
        person = api_tokens.authenticate(uow, token, engine.clock.now())
        if person is None:
            return None
        found = person.actor()
        uow.commit()
    return found
