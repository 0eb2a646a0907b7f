"""Rule sets: named, versioned statutory period lengths with an effective date."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Mapping

import sqlalchemy as sa
from sqlalchemy.orm import Session

from .errors import GovflowError, NotFound
from .models import RuleSetRow
from .messages import msg

REQUIRED_PERIODS = ("catalog_update_days", "catalog_report_days", "share_reply_days",
                    "review_reply_days", "review_extension_max_days", "negotiation_days",
                    "rectify_days", "order_days",
                    # added by migration 0014 (docs/deadlines.md; values marked design are the county's)
                    "supplement_days", "catalog_rework_days", "ordered_grant_days", "correction_days",
                    "verify_days", "rework_days", "authority_decide_days", "notice_days",
                    "grant_expiry_notice_days")
OPTIONAL_PERIODS = ("reminder_days_before",)  # engine.deadlines: 1 when a rule set has none
MAX_DAYS = 365
NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,99}$")
PERIOD_KEY = re.compile(r"^[a-z][a-z0-9_]{0,99}$")


@dataclass(frozen=True)
class RuleSet:
    """Period lengths in working days; diagrams read them as ``rules.share_reply_days``."""

    name: str
    version: int
    effective_from: date
    periods: Mapping[str, int] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.name}@{self.version}"

    def __getattr__(self, item: str) -> int:
        periods = object.__getattribute__(self, "periods")
        if item in periods:
            return periods[item]
        raise AttributeError(f"rule set {self.name} has no period {item!r}")

    @classmethod
    def from_row(cls, row: RuleSetRow) -> "RuleSet":
        return cls(row.name, row.version, row.effective_from, json.loads(row.periods))


def in_force(session: Session, on: date) -> RuleSet:
    """The active rule set with the latest effective date on or before ``on``."""
    row = session.scalars(sa.select(RuleSetRow).where(
        RuleSetRow.active.is_(True), RuleSetRow.effective_from <= on)
        .order_by(RuleSetRow.effective_from.desc(), RuleSetRow.version.desc()).limit(1)).first()
    if row is None:
        raise NotFound(msg("rules.none_in_force", "no rule set in force on {day}", day=on))
    return RuleSet.from_row(row)


def parse_key(key: str) -> tuple[str, int | None]:
    """``name@version`` -> (name, version); a bare ``name`` -> (name, None)."""
    name, sep, version = (key or "").strip().partition("@")
    if not sep:
        return name, None
    if not version.isdigit() or int(version) < 1:
        raise NotFound(msg("rules.bad_version", "no such rule set version {key}; write NAME@VERSION", key=key))
    return name, int(version)


def by_key(session: Session, key: str) -> RuleSet:
    name, version = parse_key(key)
    row = session.scalars(sa.select(RuleSetRow).where(
        RuleSetRow.name == name, RuleSetRow.version == (version or 1))).first()
    if row is None:
        raise NotFound(msg("rules.not_found", "no such rule set {key}", key=key))
    return RuleSet.from_row(row)


def names(session: Session) -> set[str]:
    return set(session.scalars(sa.select(RuleSetRow.name).distinct()))


def known_periods(session: Session) -> set[str]:
    """Every period key a rule set may hold: the required and optional ones, and any an existing
    version holds (a key outside these is a typo, refused)."""
    stored = {key for text in session.scalars(sa.select(RuleSetRow.periods)) for key in json.loads(text)}
    return {*REQUIRED_PERIODS, *OPTIONAL_PERIODS, *stored}


def period_problems(periods: Mapping[str, object], known: set[str] | None = None) -> dict[str, str]:
    """Per key, why the value cannot be a period length (bilingual); empty when all are valid: every
    required key present, each value a whole number of working days from 1 to ``MAX_DAYS``."""
    problems: dict[str, str] = {}
    for key in REQUIRED_PERIODS:
        if key not in periods:
            problems[key] = msg("rules.period_missing", "this period is missing")
    for key, value in periods.items():
        if not PERIOD_KEY.match(str(key)) or (known is not None and key not in known):
            problems[str(key)] = msg("rules.unknown_period", "unknown period")
        elif not isinstance(value, int) or isinstance(value, bool) or not 0 < value <= MAX_DAYS:
            problems[key] = msg("rules.bad_period_length", "a whole number of working days from 1 to {max}", max=MAX_DAYS)
    return problems


def add_version(session: Session, name: str, periods: Mapping[str, int], effective_from: date,
                by: str, now: datetime, title: str = "", active: bool = True, document: str = "") -> RuleSet:
    """Add a new version of a rule set; earlier versions stay, running cases keep theirs. No audit
    record and no activation rules here: ``engine.rule_admin.add`` is the administrators' verb."""
    problems = period_problems(periods)
    if problems or not NAME.match(name or ""):
        missing = [k for k, v in problems.items() if getattr(v, "code", "") == "rules.period_missing"]
        bad = [k for k in problems if k not in missing] + ([] if NAME.match(name or "") else [f"name {name!r}"])
        raise GovflowError(msg("rules.incomplete", "incomplete rule set or invalid periods (missing: {missing}, invalid: {bad})",
                                missing=missing, bad=bad))
    current = session.scalar(sa.select(sa.func.max(RuleSetRow.version)).where(RuleSetRow.name == name)) or 0
    row = RuleSetRow(name=name, version=current + 1, title=title, effective_from=effective_from,
                     active=active, periods=json.dumps(dict(periods), sort_keys=True), document=document,
                     created_by=by, created_at=now)
    session.add(row)
    session.flush()
    return RuleSet.from_row(row)
