"""The authority's decision on a 督办 (supervision item), one verb whichever door it comes through:
the supervision dashboard (``confirm``, ``dismiss``: each its own unit of work) or the in-case 督办
task of an overdue escalation (the diagram functions ``open_rectification`` and
``dismiss_supervision`` of workflows/common.py call ``confirm_in`` and ``dismiss_in`` inside the
case's unit of work).

- **Confirm** (督办 → 立案): the actor must be a supervisor; the item must exist, be open and not yet
  confirmed. A violation is recorded against the department (``supervision_confirmed``,
  ``violation_recorded``), the rectification case is started for it and linked to it
  (``violation_case_attached``). The item stays open (the 督办 is closed by a dismissal once nothing
  more is needed).
- **Dismiss** (不予立案 / 办结): the actor must be a supervisor; the item must exist and be open; it
  is closed with the note (``supervision_resolved``).
- **A second decision is refused** with ``AlreadyDone``: confirming twice, confirming a closed
  (dismissed) item, dismissing a closed item. The in-case door alone *adopts* an earlier decision
  made on the dashboard instead of failing, so the authority's in-case task is never stuck: its
  confirmation answers the rectification case already opened (no second violation), its dismissal
  of a closed item records nothing. Confirming a closed item is refused at both doors.

The rectification case is started by the rectification procedure's own function (``start`` for the
in-case door; the dashboard finds ``open_rectification`` among that procedure's functions), so the
engine never imports procedure code.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Callable

from .. import supervision
from ..domain import violations
from ..domain.violations import SupervisionItem
from ..errors import AlreadyDone, GovflowError, NotFound
from ..procedures import ScriptContext, provider
from ..uow import Actor, UnitOfWork
from ..messages import msg

__all__ = ["confirm", "confirm_in", "dismiss", "dismiss_in"]

NO_ITEM = msg("supervision.not_found", "no such supervision item")
CONFIRMED = msg("supervision.already_confirmed", "this supervision item was already confirmed: it cannot be confirmed again")
CLOSED = msg("supervision.closed_not_confirmable", "this supervision item was closed without rectification: it can no longer be confirmed")
CLOSED_ALREADY = msg("supervision.closed", "this supervision item is closed")
NOT_INSTALLED = msg("supervision.rectification_not_installed", "the rectification procedure is not installed")
OPENS_RECTIFICATION = "opens_rectification"  # the capability of the procedure a confirmed 督办 opens (art. 31)

Start = Callable[[Any, violations.Violation], int]  # (ctx, violation) -> the rectification case id


def confirm(engine, supervision_id: int, actor: Actor, evidence: str = "") -> int:
    """督办 → 立案 on the supervision dashboard, in one unit of work: return the rectification case's
    id. Refused (``AlreadyDone``) when the item was confirmed or closed before, at either door."""
    supervision.require_supervisor(actor)
    found = provider(engine.procedures, OPENS_RECTIFICATION)  # the procedure's ``PROVIDES``
    if found is None:
        raise GovflowError(NOT_INSTALLED)
    opener = found[1]
    with engine.uow() as uow:
        _decidable(uow.session, supervision_id, confirming=True)  # the dashboard adopts nothing
        ctx = ScriptContext(engine.services, uow.session, None, actor, engine.clock.now(), {}, uow=uow)
        case_id = opener(ctx, supervision_id, evidence)  # the procedure's function: ``confirm_in``
        uow.commit()
        return case_id


def dismiss(engine, supervision_id: int, actor: Actor, note: str) -> None:
    """Close a 督办 on the supervision dashboard with the reason (``InvalidForm`` without one), in one
    unit of work. Refused (``AlreadyDone``) when it was closed before."""
    supervision.require_supervisor(actor)
    with engine.uow() as uow:
        dismiss_in(uow, supervision_id, actor, engine.clock.now(), note)
        uow.commit()


def confirm_in(ctx, supervision_id: int, evidence: str, start: Start, *, adopt: bool = False) -> int:
    """Confirm inside the caller's unit of work (``ctx``: a ScriptContext with its ``uow``): record
    the violation, ``start(ctx, violation)`` its rectification case, link them; return the case id.
    ``adopt`` (the in-case door): an item confirmed before answers its rectification case."""
    supervision.require_supervisor(ctx.actor)
    item = _decidable(ctx.session, supervision_id, confirming=True, adopt=adopt)
    if item.confirmed:  # adopted: decided on the dashboard first
        return item.violation.case_id
    violation = violations.confirm_supervision_item(ctx.uow, item.id, ctx.actor, ctx.now, evidence=evidence)
    case_id = start(ctx, violation)
    violations.attach_violation_case(ctx.uow, violation.id, case_id, ctx.actor, ctx.now)
    return case_id


def dismiss_in(uow: UnitOfWork, supervision_id: int, actor: Actor, now: datetime, note: str, *,
               adopt: bool = False) -> bool:
    """Dismiss inside the caller's unit of work; return whether this call closed the item (False: it
    was closed before and ``adopt``, the in-case door, accepts that decision)."""
    supervision.require_supervisor(actor)
    item = _decidable(uow.session, supervision_id, confirming=False, adopt=adopt)
    if item.status != "open":
        return False
    violations.resolve_supervision_item(uow, item.id, note, actor, now)
    return True


def _decidable(session, supervision_id: int, *, confirming: bool, adopt: bool = False) -> SupervisionItem:
    """The item, locked for the decision (``FOR UPDATE`` on PostgreSQL: two supervisors deciding at
    once are served one after the other), or the refusal of a second decision."""
    valid = isinstance(supervision_id, int) and not isinstance(supervision_id, bool)
    item = session.get(SupervisionItem, supervision_id, with_for_update={"of": SupervisionItem}) if valid else None
    if item is None:
        raise NotFound(NO_ITEM)
    if confirming and item.confirmed:
        if adopt and item.violation is not None and item.violation.case_id is not None:
            return item
        raise AlreadyDone(CONFIRMED)
    if item.status != "open":
        if adopt and not confirming:
            return item
        raise AlreadyDone(CLOSED if confirming else CLOSED_ALREADY)
    return item
