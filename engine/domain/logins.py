"""Log-in and log-out: the password check, a limit on failed attempts per login and address (kept in
the database so that it holds across web workers), and the audit trail of both."""
from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, Session, mapped_column

from .. import audit
from ..errors import GovflowError
from ..messages import msg
from ..models import Base, UTCDateTime
from .org import Person, authenticate
from .throttle import serialize

FAILURE_LIMIT = 5
WINDOW = timedelta(minutes=15)
KEEP = timedelta(days=1)  # older rows no longer matter and are pruned
ANONYMOUS = "anonymous"  # the audit actor of a failed attempt: the typed login is not an identity


class TooManyFailures(GovflowError):
    code = "rate_limited"


class LoginAttempt(Base):
    """One failed log-in."""

    __tablename__ = "login_attempt"
    __table_args__ = (sa.Index("ix_login_attempt_login_ip_at", "login", "ip", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    login: Mapped[str] = mapped_column(sa.String(64))
    ip: Mapped[str] = mapped_column(sa.String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


def log_in(uow, login: str, password: str, ip: str, now: datetime) -> Person | None:
    """The person, or None for a wrong login or password (audited either way; the caller commits).

    Raises TooManyFailures, without checking the password, once ``FAILURE_LIMIT`` failures of this
    login from this address fall within ``WINDOW``.
    """
    login, ip = _key(login), ip[:64]
    serialize(uow.session, "login", login, ip)  # parallel attempts are counted one after the other
    if is_limited(uow.session, login, ip, now):
        raise TooManyFailures(msg("logins.too_many_failures", "too many failed log-ins; try again in {minutes} minutes",
                                  minutes=WINDOW.seconds // 60))
    person = authenticate(uow.session, login, password)
    if person is None:
        record_failure(uow.session, login, ip, now)
        uow.record(audit.Entry(now, ANONYMOUS, "login_failed", summary={"login": login, "ip": ip}))
        return None
    clear_failures(uow.session, login, ip)
    uow.record(audit.Entry(now, person.login, "login", summary={"ip": ip}))
    return person


def log_out(uow, login: str, ip: str, now: datetime) -> None:
    uow.record(audit.Entry(now, login, "logout", summary={"ip": ip[:64]}))


def is_limited(session: Session, login: str, ip: str, now: datetime,
               limit: int = FAILURE_LIMIT, window: timedelta = WINDOW) -> bool:
    """True once ``limit`` failures of this login from this address fall within ``window``."""
    failures = session.scalar(sa.select(sa.func.count()).select_from(LoginAttempt).where(
        LoginAttempt.login == _key(login), LoginAttempt.ip == ip[:64], LoginAttempt.at > now - window))
    return (failures or 0) >= limit


def record_failure(session: Session, login: str, ip: str, now: datetime) -> None:
    session.execute(sa.delete(LoginAttempt).where(LoginAttempt.at < now - KEEP))
    session.add(LoginAttempt(login=_key(login), ip=ip[:64], at=now))


def clear_failures(session: Session, login: str, ip: str) -> None:
    """A successful log-in starts the count afresh."""
    session.execute(sa.delete(LoginAttempt).where(LoginAttempt.login == _key(login),
                                                  LoginAttempt.ip == ip[:64]))


def _key(login: str) -> str:
    return login.strip().lower()[:64]
