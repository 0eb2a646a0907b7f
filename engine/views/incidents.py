"""Read models of incidents (engine.incidents): the list analysts and administrators work from, and
the open incident of one case for its case page."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from ..errors import PermissionDenied
from ..messages import msg
from ..models import Case, DefinitionVersion, Incident
from ..uow import Actor
from ..verbs.incidents import RETRY_ROLES

__all__ = ["IncidentRow", "case_incident", "incident_list"]


@dataclass(frozen=True)
class IncidentRow:
    id: int
    case_id: int
    case_number: str | None
    case_title: str
    process_id: str
    process_name: str | None
    version: int
    element_id: str | None
    element_name: str | None
    kind: str
    message: str
    actor: str
    created_at: datetime
    resolved_at: datetime | None
    resolved_by: str | None
    resolution: str | None


def _query():
    return (sa.select(Incident, Case.number, Case.title, DefinitionVersion.version, DefinitionVersion.name)
            .join(Case, Case.id == Incident.case_id)
            .join(DefinitionVersion, DefinitionVersion.id == Incident.definition_id))


def _row(incident: Incident, number, title, version, name) -> IncidentRow:
    return IncidentRow(incident.id, incident.case_id, number, title or "", incident.process_id, name, version,
                       incident.element_id, incident.element_name, incident.kind, incident.message,
                       incident.actor, incident.created_at, incident.resolved_at, incident.resolved_by,
                       incident.resolution)


def incident_list(engine, actor: Actor, open_only: bool = True, limit: int = 200) -> list[IncidentRow]:
    """Incidents, newest first (open ones only unless ``open_only`` is false); analysts and admins."""
    if not actor.roles & RETRY_ROLES:
        raise PermissionDenied(msg("incident.may_not_see", "only analysts and administrators see incidents"))
    query = _query().order_by(Incident.created_at.desc(), Incident.id.desc()).limit(limit)
    if open_only:
        query = query.where(Incident.resolved_at.is_(None))
    with engine.uow() as uow:
        return [_row(*r) for r in uow.session.execute(query)]


def case_incident(session, case_id: int) -> IncidentRow | None:
    """The case's open incident, for its case page (whoever may see the case sees why it stopped)."""
    found = session.execute(_query().where(Incident.case_id == case_id, Incident.resolved_at.is_(None))
                            .order_by(Incident.id.desc()).limit(1)).first()
    return _row(*found) if found else None
