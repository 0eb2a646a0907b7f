"""The domain records a case produced, as the case page shows them: a title, a status and facts
(label, value), plus the steps of a violation's ladder. Chinese labels of statuses come from the
domain's own tables; the English page shows their keys."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Iterable, Mapping

from flask_babel import lazy_gettext as _l

from engine.domain import grants, inconsistencies, objections, share_applications, violations
from engine.domain.case_records import (CatalogRecord, GrantRecord, ObjectionRecord, PartyRecord, RecordsOfCase,
                                       ReportRecord, ShareApplicationRecord, SupervisionRecord, ViolationRecord)

from .i18n import is_english, localise
from .layout import when

SUPERVISION_STATUSES = {"open": "督办中", "resolved": "已办结"}
CATALOG_STATUSES = {"draft": "草稿", "published": "现行版本", "superseded": "已被替代"}


@dataclass(frozen=True)
class Step:
    label: str
    at: datetime
    who: str
    note: str
    deadline: date | None


@dataclass(frozen=True)
class RecordView:
    kind: str  # a CSS-friendly key: share_application, grant, objection, ...
    title: str
    status: str
    facts: list[tuple[str, str]]
    steps: list[Step] = field(default_factory=list)


def views(records: RecordsOfCase, names: Mapping[str, str]) -> list[RecordView]:
    """Every record of the case, in a fixed order: applications, grants, objections, reports, …"""
    return ([_application(a) for a in records.share_applications] + [_grant(g, names) for g in records.grants]
            + [_objection(o) for o in records.objections]
            + [_report(r) for r in records.inconsistency_reports]
            + [_violation(v, names) for v in records.violations]
            + [_supervision(s) for s in records.supervision_items]
            + [_catalog(c, names) for c in records.catalog_versions])


def label(table: Mapping[str, str], key: str | None) -> str:
    if key is None:
        return ""
    return key.replace("_", " ") if is_english() else table.get(key, key)


def _facts(*pairs: tuple) -> list[tuple[str, str]]:
    """(label, value) pairs with a value: empty ones are left out."""
    return [(str(name), str(value)) for name, value in pairs if value not in (None, "", [])]


def _title(kind, number: str, *more: str) -> str:
    """“共享申请 #3 · HN-GA-001”: the kind, its number and what tells it apart."""
    return " · ".join([f"{kind} {number}", *more])


def _items(values: Iterable[str] | None) -> str:
    return "、".join(values or [])


def _period(start: date | None, end: date | None) -> str:
    return f"{start.isoformat()} – {end.isoformat()}" if start and end else ""


def _application(a: ShareApplicationRecord) -> RecordView:
    return RecordView("share_application", _title(_l("Share application"), f"#{a.id}", a.resource_code),
                      label(share_applications.APPLICATION_STATUSES, a.status), _facts(
        (_l("Consumer department"), a.consumer.name), (_l("Provider department"), a.provider.name),
        (_l("Data items"), _items(a.data_items)), (_l("Usage scenario"), a.scenario),
        (_l("Period of use"), _period(a.period_from, a.period_until)), (_l("Materials"), _items(a.materials)),
        (_l("Reason for refusal"), a.refusal_reason), (_l("Basis of refusal"), a.refusal_basis),
        (_l("Coordination"), label(share_applications.COORDINATION_OUTCOMES, a.coordination_outcome)),
        (_l("Coordination note"), a.coordination_note)))


def _grant(g: GrantRecord, names: Mapping[str, str]) -> RecordView:
    revoked = f"{when(g.revoked_at)} · {names.get(g.revoked_by, g.revoked_by)}" if g.revoked_at else ""
    return RecordView("grant", _title(_l("Grant"), f"#{g.id}", g.resource_code), label(grants.GRANT_STATUSES, g.status),
                      _facts((_l("Consumer department"), g.consumer.name), (_l("Provider department"), g.provider.name),
                             (_l("Data items"), _items(g.data_items)), (_l("Valid"), _period(g.valid_from, g.valid_until)),
                             (_l("Usage limits"), g.usage_limits), (_l("Basis"), g.basis),
                             (_l("Revoked"), revoked), (_l("Reason for revocation"), g.revocation_reason),
                             (_l("Basis of revocation"), g.revocation_basis),
                             (_l("Expiry notice sent"), when(g.expiry_notice_at))))


def _objection(o: ObjectionRecord) -> RecordView:
    """The objector's contacts and receipt code stay off the page (they are the objector's)."""
    extension = ""
    if o.extension_days:
        decided = {True: _l("approved"), False: _l("refused"), None: _l("awaiting decision")}[o.extension_approved]
        extension = f"{o.extension_days} · {decided}"
    return RecordView("objection", _title(_l("Objection"), f"#{o.id}", o.resource_code),
                      label(objections.OBJECTION_STATUSES, o.status), _facts(
        (_l("Objector"), label(objections.OBJECTOR_KINDS, o.objector_kind)), (_l("Provider department"), o.provider.name),
        (_l("Record in doubt"), o.record_ref), (_l("What is wrong"), o.description),
        (_l("Outcome"), label(objections.OUTCOMES, o.outcome)), (_l("Answer"), o.answer),
        (_l("Correction"), o.correction), (_l("Extension (working days)"), extension)))


def _report(r: ReportRecord) -> RecordView:
    parties = [(f"{p.department.name} · {p.resource_code}", _party(p)) for p in r.parties]
    return RecordView("inconsistency", _title(_l("Inconsistency report"), f"#{r.id}"),
                      label(inconsistencies.REPORT_STATUSES, r.status),
                      _facts((_l("Description"), r.description), *parties,
                             (_l("Outcome"), label(inconsistencies.OUTCOMES, r.outcome)), (_l("Decision"), r.decision)))


def _party(p: PartyRecord) -> str:
    agreed = {True: _l("agrees"), False: _l("disagrees"), None: ""}[p.agreed]
    parts = [p.position or str(_l("no position yet")), str(agreed)]
    if p.must_correct:
        parts.append(": ".join([str(_l("must correct")), p.correction_note or str(_l("not yet corrected"))]))
    return " · ".join(part for part in parts if part)


def _violation(v: ViolationRecord, names: Mapping[str, str]) -> RecordView:
    item = violations.ART31_ITEMS_EN[v.item] if is_english() else violations.ART31_ITEMS[v.item]
    steps = [Step(label(violations.VIOLATION_STEPS, s.step), s.at, names.get(s.actor, s.actor), s.note, s.deadline)
             for s in v.steps]
    return RecordView("violation", _title(_l("Violation"), f"#{v.id}", v.department.name),
                      label(violations.VIOLATION_STEPS, v.status), _facts(
        (_l("Art. 31 item"), f"{v.item}. {item}"), (_l("Evidence"), v.evidence),
        (_l("Source"), label(violations.SOURCES, v.source)),
        (_l("Deadline"), v.deadline.isoformat() if v.deadline else "")), steps)


def _supervision(s: SupervisionRecord) -> RecordView:
    return RecordView("supervision", _title(_l("Supervision item"), f"#{s.id}", s.department.name),
                      label(SUPERVISION_STATUSES, s.status), _facts(
        (_l("Possible violation (art. 31 item)"), s.possible_violation_item),
        (_l("Confirmed as a violation"), f"#{s.violation_id}" if s.confirmed else ""),
        (_l("Note"), localise(s.note) if s.note else ""), (_l("Resolution"), s.resolution)))


def _catalog(c: CatalogRecord, names: Mapping[str, str]) -> RecordView:
    published = f"{when(c.published_at)} · {names.get(c.published_by, c.published_by)}" if c.published_at else ""
    return RecordView("catalog", _title(_l("Catalog"), c.department.name, localise(c.label)),
                      label(CATALOG_STATUSES, c.status),
                      _facts((_l("Change basis"), c.basis), (_l("Published"), published)))
