"""Retrying a case stopped by an incident (engine.incidents): analysts and administrators only.

The case's failed element is made ready again, its timers wait again, and the case runs on in one
unit of work. If it fails again the way that makes an incident, a new incident is opened and the
old one is kept as ``retried`` (the history of what was tried).
"""
from __future__ import annotations

from .. import audit, incidents
from ..errors import AlreadyDone, NotFound, PermissionDenied
from ..messages import msg
from ..models import Incident
from ..uow import Actor

__all__ = ["RETRY_ROLES", "retry"]

RETRY_ROLES = frozenset({"analyst", "admin"})
RETRY_ACTOR = Actor.system("retry")


def retry(engine, incident_id: int, actor: Actor) -> int:
    """Run the incident's case again from the element that failed; return the case id."""
    if not actor.roles & RETRY_ROLES:
        raise PermissionDenied(msg("incident.may_not_retry", "only analysts and administrators may retry an incident"))
    with engine.uow() as uow:
        row = uow.session.get(Incident, incident_id)
        if row is None:
            raise NotFound(msg("incident.not_found", "no such incident"))
        case = engine.runner.lock(uow, row.case_id, incident=True)
        if row.resolved_at is not None or case.status != incidents.OPEN:
            raise AlreadyDone(msg("incident.resolved", "this incident was already resolved"))
        bundle = engine.runner.bundle(uow.session, case)
        workflow = engine.runner.load(case, bundle)
        now = engine.clock.now()
        incidents.resume(uow, case, workflow, actor, "retried", now)
        # The case runs on as a system job: a fault opens a new incident instead of failing the retry.
        engine.runner.advance(uow, case, workflow, bundle, RETRY_ACTOR)
        uow.commit()
        return case.id
