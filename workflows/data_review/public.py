"""What the public may read of its objection (engine.views.public.ObjectionStatus): status, the
answer's due date, outcome and answer; never anyone's name, contact details or login. The engine
reaches it as the ``public_objections`` capability (``PROVIDES`` in glue.py), without naming this
procedure."""
from __future__ import annotations

import sqlalchemy as sa

from engine.domain import catalog
from engine.errors import NotFound
from engine.models import HumanTask
from engine.views.public import ObjectionStatus, PublicObjections

from .records import Objection, find_by_receipt, objection_of_case

ANSWER_TASK = "verify_answer"  # the task whose due date the objector is told (art. 18)
REPLY_PERIOD = "review_reply_days"  # art. 18: the period the objector is promised


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


def status_of_case(session, case_id: int) -> ObjectionStatus:
    return status_of(session, objection_of_case(session, case_id))


def status_by_receipt(session, code: str) -> ObjectionStatus | None:
    found = find_by_receipt(session, code)
    return status_of(session, found) if found is not None else None


PUBLIC_OBJECTIONS = PublicObjections(status_of_case, status_by_receipt, REPLY_PERIOD)
