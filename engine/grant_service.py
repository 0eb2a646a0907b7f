"""Grant verbs (授权, art. 14): reading grants, revoking one, telling the consumer before one
expires, and renewing one through a new share application pre-filled from it.

Every verb owns its unit of work (one transaction, audited, rolled back on any refusal); the web
pages, the JSON API and the timer worker call these and never the tables. What the reads and the
revocation hand out are plain frozen values (``GrantRow``, ``GrantList``, ``GrantDetail``), never
the ORM's ``Grant`` rows.

- **Revoke** (art. 14 para. 2: the consumer must keep to the manner, scope and period of use and
  pass nothing to third parties): a clerk or the head (数长) of the grant's provider department, or
  the data authority; with a reason *and* a basis (the term broken, or the legal basis); the
  consumer department's clerks are notified. A revoked grant's share-application case keeps its
  expiry timer: ``workflows.share_application.expire_grant`` leaves a revoked grant as it is.
- **Expiry notice**: ``grant_expiry_notice_days`` (rule set in force) working days before the last
  day of use, once per grant (``expiry_notice_at``), to the consumer department's clerks, with a
  link to renew. In a year whose holidays are not published the day is provisional (暂定) and the
  notice goes out on it all the same (a reminder acts against nobody).
- **Renew**: a consumer clerk of the grant's consumer department starts a share application
  pre-filled from the grant (resource, data items, scenario, materials, the next period of the same
  length); the case carries ``renews_grant_id``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import sqlalchemy as sa

from . import rules
from .calendar import BEIJING, Due
from .domain import catalog, org
from .domain.grants import (GRANT_NOTICE_ACTOR, GRANT_STATUSES, Grant, effective_status, record_expiry_notice,
                            revoke_grant as record_revocation)
from .domain.notifications import notify
from .domain.record_checks import Checks, record_audit
from .errors import AlreadyDone, GovflowError, InvalidForm, NotFound, PermissionDenied
from .uow import Actor
from .procedures import provider as procedure_providing
from .views.modeler import NotDeployed, StartForm, start_form
from .messages import msg

READERS = frozenset({"authority"})             # the data authority reads every grant (art. 4)
AUTHORITY = frozenset({"authority"})           # and may revoke any (art. 14 para. 3: it coordinates sharing)
PROVIDER_REVOKERS = frozenset({"provider_clerk", "dept_head"})  # of the grant's provider department
RENEWERS = frozenset({"consumer_clerk"})       # of the grant's consumer department
ISSUES_GRANTS = "issues_grants"  # the capability of the procedure a renewal starts (engine.procedures.provider)
NOTICE_RULE = "grant_expiry_notice_days"
DEFAULT_NOTICE_DAYS = 10                        # (design) when a rule set predates the key
SIDES = ("consumer", "provider", "all")         # all: the data authority only
TEXT_MAX = 2000


class GrantEnded(GovflowError):
    """The grant is no longer active (expired, or revoked when renewing)."""

    code = "conflict"


@dataclass(frozen=True)
class DepartmentRef:
    code: str
    name: str


@dataclass(frozen=True)
class GrantRow:
    """One grant as the pages and the API show it (a copy of the ``Grant`` row, its departments by
    code and name)."""

    id: int
    case_id: int | None
    resource_code: str
    consumer: DepartmentRef
    provider: DepartmentRef
    data_items: tuple[str, ...]
    scenario: str
    valid_from: date
    valid_until: date                 # last day of use (inclusive)
    usage_limits: str
    basis: str
    approved_by: str
    approved_at: datetime
    status: str                       # as recorded (see ``effective_status`` for what the consumer lives)
    expired_at: datetime | None
    revoked_by: str | None
    revoked_at: datetime | None
    revocation_reason: str | None
    revocation_basis: str | None
    expiry_notice_at: datetime | None

    @classmethod
    def of(cls, grant: Grant) -> "GrantRow":
        return cls(grant.id, grant.case_id, grant.resource_code,
                   DepartmentRef(grant.consumer.code, grant.consumer.name),
                   DepartmentRef(grant.provider.code, grant.provider.name), tuple(grant.data_items or ()),
                   grant.scenario, grant.valid_from, grant.valid_until, grant.usage_limits, grant.basis,
                   grant.approved_by, grant.approved_at, grant.status, grant.expired_at, grant.revoked_by,
                   grant.revoked_at, grant.revocation_reason, grant.revocation_basis, grant.expiry_notice_at)

    def in_force(self, today: date) -> bool:
        return self.status == "active" and self.valid_from <= today <= self.valid_until


@dataclass(frozen=True)
class GrantList:
    side: str
    department: tuple[str, str] | None  # code, name (None: the authority's county-wide list)
    items: list[GrantRow]
    today: date
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))


@dataclass(frozen=True)
class GrantDetail:
    """One grant as its page shows it, with what the reader may do with it."""

    grant: GrantRow
    today: date
    status: str                       # effective status (an active grant past its last day: expired)
    names: dict[str, str] = field(default_factory=dict)  # login -> display name (approved_by, revoked_by)
    materials: list[str] = field(default_factory=list)   # of the application that led to it
    may_revoke: bool = False
    may_renew: bool = False
    notice_day: Due | None = None     # when the consumer is (or was) told it ends

    @property
    def in_force(self) -> bool:
        return self.grant.in_force(self.today)


def beijing_today(engine) -> date:
    return engine.clock.now().astimezone(BEIJING).date()


# -- who may do what -----------------------------------------------------------------------------

def may_read(grant: Grant | GrantRow, actor: Actor) -> bool:
    return bool(actor.roles & READERS) or actor.department in (grant.consumer.code, grant.provider.code)


def may_revoke(grant: Grant | GrantRow, actor: Actor) -> bool:
    """The authority, or a clerk or the head of the provider department (whatever the grant's status)."""
    if actor.roles & AUTHORITY:
        return True
    return bool(actor.roles & PROVIDER_REVOKERS) and actor.department == grant.provider.code


def may_renew(grant: Grant | GrantRow, actor: Actor) -> bool:
    """A consumer-side clerk of the grant's consumer department."""
    return bool(actor.roles & RENEWERS) and actor.department == grant.consumer.code


def _load(session, grant_id, lock: bool = False) -> Grant:
    valid = isinstance(grant_id, int) and not isinstance(grant_id, bool)
    grant = None
    if valid:
        query = sa.select(Grant).where(Grant.id == grant_id)
        if lock:  # the grant row only (its departments are joined, never locked)
            query = query.with_for_update(of=Grant)
        grant = session.scalars(query).unique().first()
    if grant is None:
        raise NotFound(msg("grant.not_found", "no grant {grant_id}", grant_id=grant_id))
    return grant


def _readable(session, grant_id, actor: Actor, lock: bool = False) -> Grant:
    grant = _load(session, grant_id, lock)
    if not may_read(grant, actor):
        raise PermissionDenied(msg("grant.not_your_department", "this grant is not your department's"))
    return grant


# -- reading -----------------------------------------------------------------------------------------

def status_filter(status: str | None, today: date) -> list:
    """Conditions for a status as the consumer lives it (``effective_status``)."""
    lapsed = sa.and_(Grant.status == "active", Grant.valid_until < today)
    if status == "active":
        return [Grant.status == "active", Grant.valid_until >= today]
    if status == "expired":
        return [sa.or_(Grant.status == "expired", lapsed)]
    if status == "revoked":
        return [Grant.status == "revoked"]
    return []


def list_grants(engine, actor: Actor, side: str = "consumer", status: str | None = None, page: int = 1,
                per_page: int = 20) -> GrantList:
    """My department's grants, newest first: those it holds (``consumer``), those it gave
    (``provider``), or every grant of the county (``all``, the data authority only)."""
    if side not in SIDES:
        raise InvalidForm({"side": msg("grant.unknown_side", "must be one of {sides}", sides=", ".join(SIDES))})
    if status is not None and status not in GRANT_STATUSES:
        raise InvalidForm({"status": msg("grant.unknown_status", "not a grant status")})
    if side == "all" and not actor.roles & READERS:
        raise PermissionDenied(msg("grant.authority_only", "only the data authority sees every grant"))
    page, per_page = max(1, page), max(1, min(per_page, 100))
    today = beijing_today(engine)
    with engine.uow() as uow:
        s = uow.session
        where = status_filter(status, today)
        department = None
        if side != "all":
            mine = org.department_by_code(s, actor.department) if actor.department else None
            if mine is None:
                return GrantList(side, None, [], today, 0, page, per_page)
            department = (mine.code, mine.name)
            column = Grant.consumer_department_id if side == "consumer" else Grant.provider_department_id
            where.append(column == mine.id)
        total = s.scalar(sa.select(sa.func.count()).select_from(Grant).where(*where)) or 0
        items = [GrantRow.of(g) for g in s.scalars(sa.select(Grant).where(*where).order_by(Grant.id.desc())
                                                   .limit(per_page).offset((page - 1) * per_page)).unique()]
        return GrantList(side, department, items, today, total, page, per_page)


def renewal_process(engine) -> str:
    """The installed procedure that issues grants (share applications): a renewal starts it."""
    found = procedure_providing(engine.procedures, ISSUES_GRANTS)
    if found is None:
        raise NotDeployed(ISSUES_GRANTS)
    return found[0]


def read_grant(engine, grant_id: int, actor: Actor) -> GrantDetail:
    """One grant its consumer, its provider or the authority may read (NotFound, PermissionDenied)."""
    today = beijing_today(engine)
    with engine.uow() as uow:
        s = uow.session
        grant = _readable(s, grant_id, actor)
        logins = {grant.approved_by, grant.revoked_by} - {None}
        names = dict(s.execute(sa.select(org.Person.login, org.Person.display_name)
                               .where(org.Person.login.in_(logins))).all()) if logins else {}
        status = effective_status(grant, today)
        notice = None
        if grant.status == "active":
            notice = engine.calendar(s).working_days_before(grant.valid_until, notice_days(s, today))
        return GrantDetail(GrantRow.of(grant), today, status, names, list(grant.materials or []),
                           may_revoke=status == "active" and may_revoke(grant, actor),
                           may_renew=status in ("active", "expired") and may_renew(grant, actor),
                           notice_day=notice)


def grant_of_case(engine, case_id: int, actor: Actor) -> int | None:
    """The newest grant a case produced that ``actor`` may read (for a notification's link)."""
    with engine.uow() as uow:
        grants = uow.session.scalars(sa.select(Grant).where(Grant.case_id == case_id)
                                     .order_by(Grant.id.desc())).unique()
        return next((g.id for g in grants if may_read(g, actor)), None)


# -- revoking ------------------------------------------------------------------------------------------

def revoke_grant(engine, grant_id: int, actor: Actor, reason: str, basis: str) -> GrantRow:
    """Revoke an active grant (art. 14), audited (``grant_revoked`` with reason and basis); the
    consumer department's clerks are notified.

    PermissionDenied for anyone but the provider department's clerks and head and the authority;
    AlreadyDone for a revoked grant, GrantEnded for an expired one (409); InvalidForm without a
    reason or a basis."""
    now = engine.clock.now()
    today = now.astimezone(BEIJING).date()
    with engine.uow() as uow:
        s = uow.session
        grant = _load(s, grant_id, lock=True)
        if not may_revoke(grant, actor):
            raise PermissionDenied(msg("grant.may_not_revoke",
                                       "only the provider department or the data authority may revoke a grant"))
        if grant.status == "revoked":
            raise AlreadyDone(msg("grant.already_revoked", "grant {grant_id} was already revoked on {revoked_at}",
                                  grant_id=grant.id,
                                  revoked_at=grant.revoked_at.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M")))
        if effective_status(grant, today) == "expired":
            raise GrantEnded(msg("grant.expired_not_revocable", "grant {grant_id} has already expired on {valid_until}",
                                 grant_id=grant.id, valid_until=grant.valid_until.isoformat()))
        check = Checks(s)
        check.text("reason", reason, "撤销理由", "reason for revoking", max_length=TEXT_MAX)
        check.text("basis", basis, "撤销依据（违反的使用条件或法律、政策依据）",
                   "basis for revoking (the term broken, or the legal or policy basis)", max_length=TEXT_MAX)
        check.done()
        grant = record_revocation(uow, grant.id, reason, actor, now, basis=basis)
        clerks = [p.login for p in org.people_for(s, "consumer_clerk", grant.consumer.code)]
        notify(uow, clerks, "grant_revoked", grant.case_id, None,
               f"授权 #{grant.id} {grant.resource_code}（{grant.provider.name}）已撤销：{grant.revocation_reason}", now)
        revoked = GrantRow.of(grant)
        uow.commit()
        return revoked


# -- telling the consumer before a grant expires -----------------------------------------------------

def notice_days(session, today: date) -> int:
    """``grant_expiry_notice_days`` of the rule set in force (the design's 10 if it predates the key)."""
    try:
        in_force = rules.in_force(session, today)
    except NotFound:
        return DEFAULT_NOTICE_DAYS
    return int(in_force.periods.get(NOTICE_RULE, DEFAULT_NOTICE_DAYS))


def send_expiry_notices(engine) -> list[int]:
    """The daily job: tell the consumer department's clerks of every active grant whose notice day
    (``grant_expiry_notice_days`` working days before its last day) has come, once per grant; return
    the ids of the grants noticed. A grant whose notice day passed while the worker was down is
    noticed at the next run, as long as its last day has not passed."""
    now = engine.clock.now()
    today = now.astimezone(BEIJING).date()
    noticed: list[int] = []
    with engine.uow() as uow:
        s = uow.session
        days = notice_days(s, today)
        calendar = engine.calendar(s)
        # n working days never span more than 3n + 31 calendar days (the longest holiday is 9 days);
        # the exact day is the calendar's to say.
        horizon = today + timedelta(days=3 * days + 31)
        candidates = s.scalars(sa.select(Grant).where(
            Grant.status == "active", Grant.expiry_notice_at.is_(None), Grant.valid_until >= today,
            Grant.valid_until <= horizon).order_by(Grant.id)
            .with_for_update(of=Grant, skip_locked=True)).unique().all()
        for grant in candidates:
            due = calendar.working_days_before(grant.valid_until, days)
            if due.date > today:
                continue
            clerks = [p.login for p in org.people_for(s, "consumer_clerk", grant.consumer.code)]
            provisional = "（暂定）" if due.provisional else ""
            notify(uow, clerks, "grant_expiring", grant.case_id, None,
                   f"授权 #{grant.id} {grant.resource_code}（{grant.provider.name}）将于 "
                   f"{grant.valid_until.isoformat()} 到期{provisional}，可申请续期", now)
            record_expiry_notice(uow, grant, due.date, due.provisional, GRANT_NOTICE_ACTOR, now)
            noticed.append(grant.id)
        uow.commit()
    return noticed


# -- renewing ---------------------------------------------------------------------------------------

def _renewable(session, grant_id, actor: Actor) -> Grant:
    grant = _load(session, grant_id)
    if not may_renew(grant, actor):
        raise PermissionDenied(msg("grant.may_not_renew",
                                   "only a clerk of the grant's consumer department may apply to renew it"))
    if grant.status == "revoked":
        raise GrantEnded(msg("grant.revoked_not_renewable",
                             "grant {grant_id} was revoked and cannot be renewed; apply afresh", grant_id=grant.id))
    return grant


def renewal_period(grant: Grant, today: date) -> tuple[date, date]:
    """The next period of the same length: from the day after the last day (or today, for a grant
    already expired) for as many days as the grant ran."""
    first = max(grant.valid_until + timedelta(days=1), today)
    return first, first + (grant.valid_until - grant.valid_from)


def renewal_form(engine, grant_id: int, actor: Actor) -> dict[str, str]:
    """The share-application start form's values pre-filled from the grant (resource, data items,
    scenario, materials of its application, the next period of the same length)."""
    today = beijing_today(engine)
    with engine.uow() as uow:
        s = uow.session
        grant = _renewable(s, grant_id, actor)
        materials = list(grant.materials) if grant.materials is not None else _registered_materials(
            s, grant.resource_code)
        first, last = renewal_period(grant, today)
        return {"resource": grant.resource_code, "scenario": grant.scenario,
                "data_items": "\n".join(grant.data_items or []), "period_from": first.isoformat(),
                "period_until": last.isoformat(), "materials": "\n".join(materials)}


@dataclass(frozen=True)
class RenewalForm:
    form: StartForm  # the share application's start form
    values: dict[str, str]  # pre-filled from the grant (``renewal_form``)


def renewal_start_form(engine, grant_id: int, actor: Actor) -> RenewalForm:
    """The share application's start form pre-filled from grant ``grant_id``, for a clerk of its
    consumer department (``NotDeployed`` while the procedure is not deployed, ``PermissionDenied``)."""
    form = start_form(engine, renewal_process(engine), actor)
    return RenewalForm(form, renewal_form(engine, grant_id, actor))


def _registered_materials(session, resource_code: str) -> list[str]:
    try:
        return list(catalog.get_resource(session, resource_code).materials)
    except NotFound:
        return []


def start_renewal(engine, grant_id: int, actor: Actor, data: dict) -> int:
    """Start the share application that renews a grant (the start form's values, checked as any
    start form is; the resource must be the grant's). The case carries ``renews_grant_id``; the
    renewal is audited on the new case (``grant_renewal_applied``). Returns the case id."""
    process_id = renewal_process(engine)
    proc = engine.procedures[process_id]
    with engine.uow() as uow:
        grant = _renewable(uow.session, grant_id, actor)
        cleaned = engine.validate_start(uow, proc, actor, dict(data))
        if cleaned.get("resource_code") != grant.resource_code:
            raise InvalidForm({"resource": msg("grant.renewal_other_resource",
                                               "a renewal is for the grant's resource {resource_code}",
                                               resource_code=grant.resource_code)})
        cleaned["renews_grant_id"] = grant.id
        case_id = engine.start_case_in(uow, process_id, actor, cleaned, trusted=True)
        record_audit(uow, actor, engine.clock.now(), "grant_renewal_applied", case_id, {
            "grant_id": grant.id, "resource_code": grant.resource_code,
            "valid_until": grant.valid_until.isoformat()})
        uow.commit()
        return case_id

