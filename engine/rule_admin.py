"""Rule sets (规则集) as administrators manage them: the rules of a change, and reading them (list,
show, the version in force, what a change would do). The changes themselves (add a version,
activate, deactivate) are the verbs of ``engine.verbs.rule_sets``, which check the role.

A *rule set* is a named series (``huaining-2021``, ``national-2025``) of *versions*: dated sets of
period lengths in working days, each with the document that sets them. Which versions count is the
administrator's decision (``active``); ``engine.rules.in_force`` picks, among the active versions,
the one with the latest effective date on or before a day. A case keeps the version in force when
it started (``Case.rule_set`` = ``name@version``), so nothing here changes a running case's periods;
a version's values never change once added (a correction is a new version).

The rules an administrator works under:

- **One rule set at a time.** Only one rule-set *name* has active versions: activating a version of
  ``national-2025`` deactivates every version of ``huaining-2021`` (the page says so and asks first;
  the audit record lists them). Versions of the same name may be active together: the effective
  dates decide which one is in force on a day (a dated amendment of the county's rules).
- **Never nothing in force.** A change that leaves no active version in force today is refused
  (deactivating the only active version, or switching to a rule set whose versions all start in
  the future): no case could start. Switch on the day, or add the future values as a version of the
  rule set in force.
- **A new version is inactive** unless the administrator activates it (``activate=True`` does both in
  one unit of work); it may start from a copy of an existing version (``source``) with some values
  changed. Every period of ``engine.rules.REQUIRED_PERIODS`` is required, each 1–365 working days.

Every change is one unit of work with one audit record per change (``rule_set_added``,
``rule_set_activated``, ``rule_set_deactivated``). Also here: the read functions the web pages use
(the rule set in force today, the after-hours policy), so the web tier needs no SQL of its own.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Mapping

import sqlalchemy as sa

from . import audit, calendar_store, rules
from .calendar import BEIJING, OFFICE_END
from .errors import GovflowError, NotFound
from .messages import msg
from .models import RuleSetRow

TEXT_LENGTH = 500  # title and document (the columns' length)
EARLIEST, LATEST = date(1990, 1, 1), date(2100, 12, 31)


@dataclass(frozen=True)
class Version:
    """One version of a rule set as an administrator sees it."""

    name: str
    version: int
    title: str
    document: str
    effective_from: date
    active: bool
    periods: dict[str, int]
    created_by: str
    created_at: datetime
    in_force: bool = False  # the version in force today

    @property
    def key(self) -> str:
        return f"{self.name}@{self.version}"

    def ordered_periods(self) -> list[tuple[str, int]]:
        """The periods in the order of ``engine.rules.REQUIRED_PERIODS``, then any others by name."""
        order = {k: i for i, k in enumerate((*rules.REQUIRED_PERIODS, *rules.OPTIONAL_PERIODS))}
        return sorted(self.periods.items(), key=lambda kv: (order.get(kv[0], len(order)), kv[0]))


@dataclass(frozen=True)
class Change:
    """What activating or deactivating a version does (shown before, recorded after)."""

    action: str  # "activate" | "deactivate"
    key: str
    deactivates: tuple[str, ...] = ()  # other versions switched off (another rule set's)
    in_force_before: str | None = None
    in_force_after: str | None = None
    refusal: str | None = None  # bilingual; the change is not possible
    effective_from: date | None = None
    today: date | None = None
    notes: tuple[str, ...] = field(default=())


def today(engine) -> date:
    """The calendar day in Beijing by the engine's clock (the day ``start_case`` picks a rule set for)."""
    return engine.clock.now().astimezone(BEIJING).date()


# -- reading ------------------------------------------------------------------------------------

def versions(engine, name: str | None = None) -> list[Version]:
    """Every version (of one rule set, when ``name`` is given), by name and version."""
    with engine.uow() as uow:
        rows = _rows(uow.session)
        current = _in_force_row(rows, today(engine))
    found = [_version(r, r is current) for r in rows]
    return found if name is None else _named(found, name)


def get(engine, key: str) -> Version:
    """``name@version``, or a bare ``name`` for its newest version."""
    rules.parse_key(key)  # a malformed key is refused before any reading
    return _pick(versions(engine), key)


@dataclass(frozen=True)
class VersionForm:
    """What the form for a new version shows."""

    base: Version | None  # the version whose periods it copies
    versions: list[Version]  # every version (the names it offers)


def version_form(engine, source: str | None, default_in_force: bool = False) -> VersionForm:
    """The form copying ``source`` (``name@version`` or a name; ``NotFound`` when there is none) or,
    without one, the version in force today (``default_in_force``; ``NotFound`` when none is) or nothing."""
    found = versions(engine)
    if source:
        base = _pick(found, source)
    elif default_in_force:
        base = next((v for v in found if v.in_force), None)
        if base is None:
            raise NotFound(msg("rules.none_in_force", "no rule set in force on {day}", day=today(engine)))
    else:
        base = None
    return VersionForm(base, found)


@dataclass(frozen=True)
class Confirmation:
    """What the page before an activation or deactivation shows."""

    change: Change
    version: Version  # the version it concerns


def confirmation(engine, key: str, action: str) -> Confirmation:
    """``plan`` and the version concerned, read together."""
    if action not in ("activate", "deactivate"):
        raise GovflowError(msg("rules.unknown_action", "unknown action {action!r}", action=action))
    key, day = exact_key(key), today(engine)
    with engine.uow() as uow:
        rows = _rows(uow.session)
        change = _plan(rows, action, key, day)
        current = _in_force_row(rows, day)
        return Confirmation(change, next(_version(r, r is current) for r in rows if _key(r) == change.key))


def in_force(engine, on: date | None = None) -> Version:
    """The version in force on ``on`` (default: today in Beijing)."""
    day = on or today(engine)
    with engine.uow() as uow:
        row = _in_force_row(_rows(uow.session), day)
    if row is None:
        raise NotFound(msg("rules.none_in_force", "no rule set in force on {day}", day=day))
    return _version(row, on is None or on == today(engine))


def period_in_force(engine, key: str, on: date | None = None) -> int:
    """One period's length in the version in force (what a page tells the public or a clerk)."""
    version = in_force(engine, on)
    if key not in version.periods:
        raise NotFound(msg("rules.no_such_period", "the rule set {key} has no period {period}", key=version.key, period=key))
    return version.periods[key]


def after_hours_policy(engine) -> str:
    """How a submission after office hours or on a non-working day counts: ``calendar_date`` or
    ``next_working_day`` (the administrators' setting, else the deployment's default)."""
    with engine.uow() as uow:
        return calendar_store.after_hours_policy(uow.session, engine.config.after_hours_policy)


def submission_terms(engine) -> dict:
    """What a form with a deadline states: the after-hours policy and the end of office hours."""
    return {"policy": after_hours_policy(engine), "office_end": OFFICE_END.strftime("%H:%M")}


# -- changing -----------------------------------------------------------------------------------
# The changes are the administrators' verbs in ``engine.verbs.rule_sets`` (an ``Actor``, the role
# checked there, one unit of work each). ``add`` below remains for ``tools/release_fixture.py``
# only, which enters a version as the installation's operator; everything else calls the verbs.

def add(engine, name: str, *, effective_from: date | None, title: str, document: str, by: str,
        periods: Mapping[str, object] | None = None, source: str | None = None,
        activate: bool = False) -> Version:
    """``engine.verbs.rule_sets.add`` as the operator ``by`` (an administrator by definition)."""
    from .uow import Actor
    from .verbs import rule_sets
    return rule_sets.add(engine, Actor(by, frozenset({"admin"})), name, effective_from=effective_from, title=title,
                         document=document, periods=periods, source=source, activate=activate)


def plan(engine, key: str, action: str) -> Change:
    """What activating (``action="activate"``) or deactivating ``key`` would do, changing nothing;
    ``refusal`` says why it is not possible."""
    if action not in ("activate", "deactivate"):
        raise GovflowError(msg("rules.unknown_action", "unknown action {action!r}", action=action))
    with engine.uow() as uow:
        return _plan(_rows(uow.session), action, exact_key(key), today(engine))


def check_new_version(name: str, effective_from: date | None, title: str, document: str) -> dict[str, str]:
    """The problems (per field) of a new version's name, effective date, title and document."""
    errors: dict[str, str] = {}
    if not rules.NAME.match(name):
        errors["name"] = msg("rules.bad_name", "a name is lower-case letters, digits, dots, hyphens and underscores, "
                                              "at most {max} characters", max=100)
    if effective_from is None or not EARLIEST <= effective_from <= LATEST:
        errors["effective_from"] = msg("rules.effective_from_required", "enter the effective date, {first} to {last}",
                                         first=EARLIEST.year, last=LATEST.year)
    if not title or len(title) > TEXT_LENGTH:
        errors["title"] = msg("rules.title_required", "enter a title, at most {max} characters", max=TEXT_LENGTH)
    if not document or len(document) > TEXT_LENGTH:
        errors["document"] = msg("rules.document_required",
                                   "enter the document that sets these periods, at most {max} characters",
                                   max=TEXT_LENGTH)
    return errors


def source_row(rows: list[RuleSetRow], source: str) -> RuleSetRow | None:
    """The version ``source`` (``name@version``, or a name for its newest) among ``rows``."""
    try:
        src_name, src_version = rules.parse_key(source)
    except NotFound:
        return None
    same = [r for r in rows if r.name == src_name and src_version in (None, r.version)]
    return same[-1] if same else None  # rows are by name and version: the newest last


def version_rows(session, lock: bool = False) -> list[RuleSetRow]:
    """Every version's row, by name and version (``lock``: FOR UPDATE, for a change)."""
    return _rows(session, lock)


def apply_change(uow, rows: list[RuleSetRow], action: str, key: str, by: str, now: datetime, day: date) -> Change:
    """Activate or deactivate ``key`` among the locked ``rows`` as the rules above say, audited;
    ``GovflowError`` with the refusal when it is not possible."""
    change = _plan(rows, action, key, day)
    if change.refusal:
        raise GovflowError(change.refusal)
    switched_off = set(change.deactivates)
    for row in rows:
        if f"{row.name}@{row.version}" == key:
            row.active = action == "activate"
        elif f"{row.name}@{row.version}" in switched_off:
            row.active = False
    uow.record(audit.Entry(now, by, f"rule_set_{action}d", summary={
        "key": key, "deactivated": list(change.deactivates), "in_force_before": change.in_force_before,
        "in_force_after": change.in_force_after, "on": day.isoformat()}))
    return change


# -- internals ----------------------------------------------------------------------------------

def _plan(rows: list[RuleSetRow], action: str, key: str, day: date) -> Change:
    target = next((r for r in rows if f"{r.name}@{r.version}" == key), None)
    if target is None:
        raise NotFound(msg("rules.not_found", "no such rule set {key}", key=key))
    before = _in_force_row(rows, day)
    if action == "activate":
        deactivates = tuple(f"{r.name}@{r.version}" for r in rows if r.active and r.name != target.name)
        after_rows = [r for r in rows if r is target or (r.active and r.name == target.name)]
    else:
        deactivates = ()
        after_rows = [r for r in rows if r.active and r is not target]
    after = _in_force_row(after_rows, day, all_active=True)
    refusal = None
    if action == "activate" and target.active and not deactivates:
        refusal = msg("rules.already_active", "{key} is active already", key=key)
    elif action == "deactivate" and not target.active:
        refusal = msg("rules.not_active", "{key} is not active", key=key)
    elif after is None:
        refusal = msg("rules.none_in_force_after_activation", "after this no rule set would be in force today, "
                      "{day}, and no case could start; {key} takes effect on {effective_from}", day=day, key=key,
                      effective_from=target.effective_from.isoformat()) if action == "activate" else \
            msg("rules.none_in_force_after", "after this no rule set would be in force today, {day}, and no case "
                "could start", day=day)
    return Change(action, key, deactivates, _key(before), _key(after), refusal, target.effective_from, day)


def _rows(session, lock: bool = False) -> list[RuleSetRow]:
    query = sa.select(RuleSetRow).order_by(RuleSetRow.name, RuleSetRow.version)
    return list(session.scalars(query.with_for_update() if lock else query))


def _in_force_row(rows, day: date, all_active: bool = False) -> RuleSetRow | None:
    """``engine.rules.in_force`` over loaded rows (``all_active``: treat every row as active)."""
    candidates = [r for r in rows if (all_active or r.active) and r.effective_from <= day]
    return max(candidates, key=lambda r: (r.effective_from, r.version), default=None)


def exact_key(key: str) -> str:
    """``name@version`` exactly (a bare name is refused: a change names its version)."""
    name, version = rules.parse_key(key)
    if version is None:
        raise NotFound(msg("rules.version_required", "name the version: {name}@VERSION", name=name))
    return f"{name}@{version}"


def _named(found: list[Version], name: str) -> list[Version]:
    named = [v for v in found if v.name == name]
    if not named:
        raise NotFound(msg("rules.not_found", "no such rule set {key}", key=name))
    return named


def _pick(found: list[Version], key: str) -> Version:
    """``name@version`` or the newest version of ``name`` among ``found``."""
    name, number = rules.parse_key(key)
    matching = [v for v in _named(found, name) if number is None or v.version == number]
    if not matching:
        raise NotFound(msg("rules.not_found", "no such rule set {key}", key=key))
    return matching[-1]


def _key(row: RuleSetRow | None) -> str | None:
    return f"{row.name}@{row.version}" if row is not None else None


def _version(row: RuleSetRow, in_force: bool) -> Version:
    return Version(row.name, row.version, row.title, row.document or "", row.effective_from, row.active,
                   json.loads(row.periods), row.created_by, row.created_at, in_force)
