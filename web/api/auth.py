"""Who calls the API: the person of a personal API token (``Authorization: Bearer <token>``), with
exactly that person's roles and department, or the public for the objection endpoints.

Only the token counts: a browser's session cookie is ignored here, so that no other site can make a
logged-in browser act through this CSRF-exempt API.
"""
from __future__ import annotations

from flask import g, request

from engine.uow import Actor
from engine.verbs import api_access

from ..context import govflow
from .errors import ApiError

CHALLENGE = 'Bearer realm="govflow"'


def authenticate() -> None:
    """Before each view of a token blueprint: the token's person becomes ``g.api_actor`` (or 401)."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, headers={"WWW-Authenticate": CHALLENGE})
    found = api_access.authenticate(govflow(), token.strip())
    if found is None:
        raise ApiError(401, "invalid_token", "API 令牌无效、已撤销或其用户已停用 "
                                             "(the API token is invalid, revoked, or its person deactivated)",
                       headers={"WWW-Authenticate": f'{CHALLENGE}, error="invalid_token"'})
    g.api_actor = found


def actor() -> Actor:
    """The person the request acts for."""
    return g.api_actor
