"""Rate limits: a count of requests per kind and key (a client address, a login) in a sliding window,
kept in the database so that it holds across web processes, for what anyone may do without an
account (objections and their lookup, art. 18) and for what a person may repeat (API tokens, urges).

A limit holds under concurrency: counting and recording happen in one transaction that holds a lock
on the (kind, key) pair (``serialize``: a PostgreSQL advisory transaction lock; SQLite's
``BEGIN IMMEDIATE`` already serialises writers), so thirty parallel requests from two processes
are counted one after the other."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, Session, mapped_column

from ..errors import GovflowError
from ..messages import msg
from ..models import Base, UTCDateTime

KEEP = timedelta(days=1)  # older rows no longer matter and are pruned


@dataclass(frozen=True)
class Limit:
    requests: int
    window: timedelta


LIMITS = {
    "objection": Limit(5, timedelta(hours=1)),  # objections received: a person raises a few, not dozens
    "objection_form": Limit(30, timedelta(minutes=15)),  # every submission of the form, valid or not
    "lookup": Limit(30, timedelta(minutes=15)),  # receipt-code lookups
    "token": Limit(10, timedelta(hours=1)),  # API tokens a person creates
    "urge": Limit(30, timedelta(hours=1)),  # 催办 a supervisor sends
}


class TooManyRequests(GovflowError):
    code = "rate_limited"

    def __init__(self, message: str, retry_after: timedelta):
        super().__init__(message)
        self.retry_after = retry_after


class PublicRequest(Base):
    """One request of a rate-limited kind from one client address."""

    __tablename__ = "public_request"
    __table_args__ = (sa.Index("ix_public_request_kind_client_at", "kind", "client", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(20))
    client: Mapped[str] = mapped_column(sa.String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


def serialize(session: Session, *parts: str) -> None:
    """Hold, until the transaction ends, a lock on ``parts`` that every process contending for the
    same parts waits on (PostgreSQL); on SQLite the write transaction already holds the database."""
    if session.get_bind().dialect.name == "postgresql":
        key = int.from_bytes(hashlib.sha256("\x1f".join(parts).encode()).digest()[:8], "big", signed=True)
        session.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


def count(session: Session, kind: str, client: str, now: datetime) -> int:
    limit = LIMITS[kind]
    return session.scalar(sa.select(sa.func.count()).select_from(PublicRequest).where(
        PublicRequest.kind == kind, PublicRequest.client == client[:64],
        PublicRequest.at > now - limit.window)) or 0


def check(session: Session, kind: str, client: str, now: datetime) -> None:
    """Raise TooManyRequests once the client's window for ``kind`` is full (the (kind, client) pair
    stays locked until the transaction ends, so a ``record`` in it is counted by the next one)."""
    limit = LIMITS[kind]
    serialize(session, "throttle", kind, client[:64])
    if count(session, kind, client, now) >= limit.requests:
        minutes = int(limit.window.total_seconds() // 60)
        raise TooManyRequests(msg("throttle.too_many_requests",
                                  "too many requests; please try again in {minutes} minutes",
                                  minutes=minutes), limit.window)


def record(session: Session, kind: str, client: str, now: datetime) -> None:
    """Count one request (the caller commits); rows older than a day are pruned."""
    session.execute(sa.delete(PublicRequest).where(PublicRequest.at < now - KEEP))
    session.add(PublicRequest(kind=kind, client=client[:64], at=now))


def hit(session: Session, kind: str, client: str, now: datetime) -> None:
    """Check, then count one request."""
    check(session, kind, client, now)
    record(session, kind, client, now)
