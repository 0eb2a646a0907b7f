"""Read models of the public's objections (复核, art. 18), shared by the public page and the API: the
objection form, and what an objector may read of their objection (status, due date, answer; never
anyone's name, contact details or login).

The public's right to object is the regulation's (art. 18), so its vocabulary is here; the procedure
that reviews objections provides the ``public_objections`` capability (``PublicObjections``: its
records as an ``ObjectionStatus``), found through ``engine.procedures.provider`` without naming it."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from typing import Callable

from .. import definitions, forms, rule_admin
from ..errors import NotFound
from ..procedures import provider
from ..service import option_pairs
from ..uow import Actor
from .modeler import NotDeployed

__all__ = ["OBJECTION_STATUSES", "OBJECTOR_KINDS", "OUTCOMES", "PUBLIC_KINDS", "RECEIPT_LENGTH", "NotDeployed",
           "ObjectionForm", "ObjectionStatus", "PublicObjections", "objection_form", "objections_of", "public_actor"]
CAPABILITY = "public_objections"
OBJECTOR_KINDS = {"department": "政务数据使用部门", "natural_person": "自然人", "legal_person": "法人",
                  "other_organisation": "其他组织"}  # art. 18
PUBLIC_KINDS = ("natural_person", "legal_person", "other_organisation")  # a department objects after logging in
OBJECTION_STATUSES = {"received": "已受理", "answered": "已答复"}
OUTCOMES = {"corrected": "已更正", "confirmed": "经核无误"}
RECEIPT_LENGTH = 12  # 29**12 ≈ 3.5e17: not guessable, and a lookup needs no login


def public_actor(kind: str) -> Actor:
    """Who the audit trail names for an objection from the public: the kind of objector, no person."""
    return Actor(f"public:{kind if kind in PUBLIC_KINDS else 'unknown'}")


@dataclass(frozen=True)
class ObjectionForm:
    fields: list[forms.FormField]  # data_review's start form
    options: dict[str, list[tuple[str, str]]]  # field id -> (value, label): the published catalog
    reply_days: int | None  # the rule set in force today (None when none is: name the article only)


def objections_of(engine) -> tuple[str, "PublicObjections"]:
    """(process id, capability) of the installed procedure reviewing objections (``NotDeployed``)."""
    found = provider(engine.procedures, CAPABILITY)
    if found is None:
        raise NotDeployed(CAPABILITY)
    return found


def objection_form(engine) -> ObjectionForm:
    """The objection form, as the public sees it; ``NotDeployed`` while the procedure is not."""
    process_id, public = objections_of(engine)
    with engine.uow() as uow:
        deployed = definitions.latest(uow.session, process_id) is not None
    if not deployed:
        raise NotDeployed(process_id)
    fields, options = engine.start_form(process_id, public_actor(""))  # a unit of work of its own
    return ObjectionForm(fields, option_pairs(options), _reply_days(engine, public.reply_period))


def _reply_days(engine, rule: str) -> int | None:
    try:
        return rule_admin.period_in_force(engine, rule)
    except NotFound:
        return None


@dataclass(frozen=True)
class ObjectionStatus:
    receipt_code: str
    received_at: datetime
    status: str  # a key of OBJECTION_STATUSES
    resource_code: str
    resource_name: str  # "" when the resource is no longer in the published catalog
    provider_code: str
    provider: str  # the provider department's name
    record_ref: str
    due_date: date | None  # while received: the answer's due date
    provisional: bool  # the due date needs a year not yet published
    extension_days: int | None
    extension_approved: bool | None
    outcome: str | None  # a key of OUTCOMES
    answer: str | None
    correction: str | None
    answered_at: datetime | None


@dataclass(frozen=True)
class PublicObjections:
    """What the procedure reviewing objections provides (its ``PROVIDES["public_objections"]``)."""

    status_of_case: Callable[..., ObjectionStatus]  # (session, case id)
    status_by_receipt: Callable[..., "ObjectionStatus | None"]  # (session, normalised receipt code)
    reply_period: str  # the rule of the period the objector is promised (art. 18)
