"""Read models of the public's objections (复核, art. 18), shared by the public page and the API: the
objection form, and what an objector may read of their objection (status, due date, answer; never
anyone's name, contact details or login)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa

from .. import definitions, forms, rule_admin
from ..domain import catalog
from ..domain.objections import OBJECTION_STATUSES, OBJECTOR_KINDS, OUTCOMES, RECEIPT_LENGTH, Objection
from ..errors import NotFound
from ..models import HumanTask
from ..service import option_pairs
from ..uow import Actor
from .modeler import NotDeployed

__all__ = ["OBJECTION_STATUSES", "OBJECTOR_KINDS", "OUTCOMES", "PUBLIC_KINDS", "RECEIPT_LENGTH", "NotDeployed",
           "ObjectionForm", "ObjectionStatus", "objection_form", "public_actor", "status_of"]
PROCESS = "data_review"  # art. 18: the objection review procedure
PUBLIC_KINDS = ("natural_person", "legal_person", "other_organisation")  # a department objects after logging in
ANSWER_TASK = "verify_answer"  # the task of data_review whose due date the objector is told
REPLY_PERIOD = "review_reply_days"  # art. 18: the period the objector is promised


def public_actor(kind: str) -> Actor:
    """Who the audit trail names for an objection from the public: the kind of objector, no person."""
    return Actor(f"public:{kind if kind in PUBLIC_KINDS else 'unknown'}")


@dataclass(frozen=True)
class ObjectionForm:
    fields: list[forms.FormField]  # data_review's start form
    options: dict[str, list[tuple[str, str]]]  # field id -> (value, label): the published catalog
    reply_days: int | None  # the rule set in force today (None when none is: name the article only)


def objection_form(engine) -> ObjectionForm:
    """The objection form, as the public sees it; ``NotDeployed`` while the procedure is not."""
    with engine.uow() as uow:
        deployed = definitions.latest(uow.session, PROCESS) is not None
    if not deployed or PROCESS not in engine.procedures:
        raise NotDeployed(PROCESS)
    fields, options = engine.start_form(PROCESS, public_actor(""))  # a unit of work of its own
    return ObjectionForm(fields, option_pairs(options), _reply_days(engine))


def _reply_days(engine) -> int | None:
    try:
        return rule_admin.period_in_force(engine, REPLY_PERIOD)
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


def status_of(session, found: Objection) -> ObjectionStatus:
    """What the objector may read of ``found`` (inside the caller's unit of work)."""
    try:
        resource = catalog.get_resource(session, found.resource_code, include_retired=True).name
    except NotFound:
        resource = ""
    task = session.scalars(sa.select(HumanTask).where(
        HumanTask.case_id == found.case_id, HumanTask.element_id == ANSWER_TASK,
        HumanTask.state == "ready")).first() if found.case_id is not None else None
    return ObjectionStatus(
        found.receipt_code, found.received_at, found.status, found.resource_code, resource, found.provider.code,
        found.provider.name, found.record_ref, task.due_date if task else None, bool(task and task.provisional),
        found.extension_days, found.extension_approved, found.outcome, found.answer, found.correction,
        found.answered_at)
