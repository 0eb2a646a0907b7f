"""Personal API tokens: how another system (the county data centre, the online service platform)
acts for a person through the JSON API, with exactly that person's roles and department.

A token is shown once, when it is created; only its SHA-256 digest is kept, beside a short public
prefix that finds the row without scanning (``gft_<prefix>_<secret>``, 32 random bytes of secret).
Revoking a token, or deactivating its person, refuses it from the next request on.
"""
from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, Session, mapped_column

from .. import audit
from ..errors import GovflowError, InvalidForm, NotFound
from ..messages import msg
from ..models import Base, UTCDateTime
from ..uow import UnitOfWork
from .org import Person

SCHEME = "gft"  # govflow token: recognisable in a leaked log or a secret scanner
PREFIX_BYTES, SECRET_BYTES = 4, 32
TOKEN = re.compile(rf"^{SCHEME}_([0-9a-f]{{{2 * PREFIX_BYTES}}})_[A-Za-z0-9_-]{{40,60}}$")
MAX_NAME = 100
MAX_ACTIVE = 20  # per person: enough for every system it feeds, few enough to review
LAST_USED_PRECISION = timedelta(minutes=1)  # not a write on every request


class ApiToken(Base):
    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("person.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(sa.String(MAX_NAME))
    prefix: Mapped[str] = mapped_column(sa.String(20), unique=True)  # "gft_1a2b3c4d", shown in lists
    token_hash: Mapped[str] = mapped_column(sa.String(64))  # sha256 hex of the whole token
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def active(self) -> bool:
        return self.revoked_at is None


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_token(uow: UnitOfWork, person: Person, name: str, now: datetime) -> tuple[ApiToken, str]:
    """A new token for ``person``; the returned secret is never stored and cannot be shown again."""
    name = " ".join((name or "").split())
    if not name:
        raise InvalidForm({"name": msg("api_tokens.name_required", "give the token a name")})
    if len(name) > MAX_NAME:
        raise InvalidForm({"name": msg("api_tokens.name_too_long", "at most {max_length} characters",
                                        max_length=MAX_NAME)})
    if len(active_tokens(uow.session, person.id)) >= MAX_ACTIVE:
        raise GovflowError(msg("api_tokens.too_many",
                               "at most {max_active} active tokens; revoke one you no longer use",
                               max_active=MAX_ACTIVE))
    prefix = _new_prefix(uow.session)
    secret = f"{prefix}_{secrets.token_urlsafe(SECRET_BYTES)}"
    row = ApiToken(person_id=person.id, name=name, prefix=prefix, token_hash=digest(secret), created_at=now)
    uow.session.add(row)
    uow.session.flush()
    uow.record(audit.Entry(now, person.login, "api_token_created",
                           summary={"token_id": row.id, "name": name, "prefix": prefix}))
    return row, secret


def _new_prefix(session: Session) -> str:
    for _ in range(5):
        prefix = f"{SCHEME}_{secrets.token_hex(PREFIX_BYTES)}"
        if session.scalar(sa.select(ApiToken.id).where(ApiToken.prefix == prefix)) is None:
            return prefix
    raise GovflowError(msg("api_tokens.no_prefix", "could not draw a token; try again"))


def active_tokens(session: Session, person_id: int) -> list[ApiToken]:
    """The person's tokens that still work, newest first."""
    return list(session.scalars(sa.select(ApiToken).where(
        ApiToken.person_id == person_id, ApiToken.revoked_at.is_(None)).order_by(ApiToken.id.desc())))


def revoke_token(uow: UnitOfWork, person: Person, token_id: int, now: datetime) -> ApiToken:
    """Revoke one of the person's own tokens (someone else's is not found)."""
    row = uow.session.get(ApiToken, token_id)
    if row is None or row.person_id != person.id or row.revoked_at is not None:
        raise NotFound(msg("api_tokens.not_found", "no such active token"))
    row.revoked_at = now
    uow.record(audit.Entry(now, person.login, "api_token_revoked",
                           summary={"token_id": row.id, "name": row.name, "prefix": row.prefix}))
    return row


def revoke_all(uow: UnitOfWork, person: Person, by: str, now: datetime) -> int:
    """Revoke every active token of ``person`` (a password reset, a deactivation); audited each."""
    rows = active_tokens(uow.session, person.id)
    for row in rows:
        row.revoked_at = now
        uow.record(audit.Entry(now, by, "api_token_revoked", summary={
            "token_id": row.id, "name": row.name, "prefix": row.prefix, "login": person.login}))
    return len(rows)


def authenticate(uow: UnitOfWork, token: str, now: datetime) -> Person | None:
    """The active person an active token belongs to, or None; notes when the token was last used
    (the caller commits)."""
    match = TOKEN.match(token or "")
    if match is None:
        return None
    row = uow.session.scalars(sa.select(ApiToken).where(
        ApiToken.prefix == f"{SCHEME}_{match.group(1)}")).first()
    if row is None or row.revoked_at is not None or not hmac.compare_digest(row.token_hash, digest(token)):
        return None
    person = uow.session.get(Person, row.person_id)
    if person is None or not person.active:
        return None
    if row.last_used_at is None or now - row.last_used_at >= LAST_USED_PRECISION:
        row.last_used_at = now
    return person
