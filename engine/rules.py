"""Rule sets: named, versioned statutory period lengths with an effective date."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Mapping

import sqlalchemy as sa
from sqlalchemy.orm import Session

from .errors import GovflowError, NotFound
from .models import RuleSetRow

REQUIRED_PERIODS = ("catalog_update_days", "catalog_report_days", "share_reply_days",
                    "review_reply_days", "review_extension_max_days", "negotiation_days",
                    "rectify_days", "order_days")


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
        raise NotFound(f"没有在 {on} 生效的规则集 (no rule set in force on {on})")
    return RuleSet.from_row(row)


def by_key(session: Session, key: str) -> RuleSet:
    name, _, version = key.partition("@")
    row = session.scalars(sa.select(RuleSetRow).where(
        RuleSetRow.name == name, RuleSetRow.version == int(version or 1))).first()
    if row is None:
        raise NotFound(f"规则集 {key} 不存在 (no such rule set)")
    return RuleSet.from_row(row)


def names(session: Session) -> set[str]:
    return set(session.scalars(sa.select(RuleSetRow.name).distinct()))


def add_version(session: Session, name: str, periods: Mapping[str, int], effective_from: date,
                by: str, now: datetime, title: str = "", active: bool = True) -> RuleSet:
    """Add a new version of a rule set; earlier versions stay, running cases keep theirs."""
    missing = [p for p in REQUIRED_PERIODS if p not in periods]
    bad = [k for k, v in periods.items() if not isinstance(v, int) or isinstance(v, bool) or not 0 < v <= 365]
    if missing or bad:
        raise GovflowError(f"规则集不完整或期限无效 (missing: {missing}, invalid: {bad})")
    current = session.scalar(sa.select(sa.func.max(RuleSetRow.version)).where(RuleSetRow.name == name)) or 0
    row = RuleSetRow(name=name, version=current + 1, title=title, effective_from=effective_from,
                     active=active, periods=json.dumps(dict(periods)), created_by=by, created_at=now)
    session.add(row)
    session.flush()
    return RuleSet.from_row(row)
