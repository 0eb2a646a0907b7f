"""The analysts' verbs on diagrams (流程设计器): save and delete drafts, deploy a diagram as a new
version (discarding the draft it came from), move a running case to the newest version. Each is one
audited unit of work, for the ``analyst`` role only. Deploying is implemented here once: ``install``
is the same unit of work for the installation itself (``Engine.deploy``, ``govflow deploy``)."""
from __future__ import annotations

from dataclasses import dataclass

from .. import audit, definitions, modeling
from ..domain import drafts
from ..domain.drafts import DiagramRejected
from ..errors import GovflowError, NotFound, PermissionDenied
from ..models import Case
from ..service import DeployResult
from ..uow import Actor
from ..messages import msg

__all__ = ["DeployResult", "DiagramRejected", "NewerVersionDeployed", "delete_draft", "deploy", "install",
           "migrate_case", "save_draft"]
ANALYSTS = frozenset({"analyst"})


class NewerVersionDeployed(GovflowError):
    """The version a migration was checked against is no longer the newest."""

    code = "conflict"


@dataclass(frozen=True)
class SavedDraft:
    id: int
    name: str


@dataclass(frozen=True)
class Migrated:
    case_number: str
    version: int  # the version the case now runs on


def require_analyst(actor: Actor) -> None:
    if not actor.roles & ANALYSTS:
        raise PermissionDenied(msg("modeler.analysts_only", "the modeler is for process analysts only"))


def save_draft(engine, actor: Actor, draft_id: int | None, raw: bytes | str, name: str = "") -> SavedDraft:
    """Save a diagram as a new draft (``draft_id`` None: also an upload) or over a draft;
    ``DiagramRejected`` (with its ``kind``) for a file the modeler may not keep."""
    require_analyst(actor)
    with engine.uow() as uow:
        draft = drafts.save_draft(uow, draft_id, raw, name, actor.username, engine.clock.now())
        saved = SavedDraft(draft.id, draft.name)
        uow.commit()
    return saved


def delete_draft(engine, actor: Actor, draft_id: int) -> str:
    """Discard a draft; return its name (``NotFound`` when there is none)."""
    require_analyst(actor)
    with engine.uow() as uow:
        name = drafts.delete_draft(uow, draft_id, actor.username, engine.clock.now())
        uow.commit()
    return name


def deploy(engine, actor: Actor, raw: bytes | str, draft_id: int | None = None) -> DeployResult:
    """Deploy a diagram as its process's next version (identical content: the newest version, not
    created) and discard the draft it came from, if it still exists, in the same transaction.
    ``DefinitionError`` names the element at fault."""
    require_analyst(actor)
    return _deploy(engine, raw, actor.username, draft_id)


def install(engine, raw: bytes | str, by: str = "system:deploy") -> DeployResult:
    """Deploy a diagram as the installation itself: the bootstrap, ``govflow deploy`` (whoever runs
    it operates the installation) and tests' fixtures, recorded under ``by``. The same unit of work
    as ``deploy``, without an analyst to check."""
    return _deploy(engine, raw, by, None)


def _deploy(engine, raw: bytes | str, by: str, draft_id: int | None) -> DeployResult:
    raw = definitions.normalise(raw)
    parsed = definitions.parse_diagram(raw, engine.allowed_calls(definitions.peek_process_id(raw)))
    now = engine.clock.now()
    with engine.uow() as uow:
        row, created = definitions.add_version(uow.session, parsed, raw, engine.serializer, by, now)
        if created:
            uow.record(audit.Entry(now, by, "definition_deployed", summary={
                "process_id": row.process_id, "version": row.version, "hash": row.content_hash}))
        if draft_id is not None:
            _discard(uow, draft_id, by, now)
        result = DeployResult(row.id, row.process_id, row.version, created)
        uow.commit()
    if created:
        engine.definitions.put(result.definition_id, parsed.bundle)
    return result


def _discard(uow, draft_id: int, by: str, now) -> None:
    try:
        drafts.delete_draft(uow, draft_id, by, now)
    except NotFound:
        pass  # deleted by someone else meanwhile


def migrate_case(engine, actor: Actor, process_id: str, case_id: int, target_id: int | None) -> Migrated:
    """Move one running case of ``process_id`` to the newest version, which must be ``target_id``
    (the version the analyst read the migration report for; else ``NewerVersionDeployed``).
    Refused with the report's reasons when the case cannot move."""
    require_analyst(actor)
    with engine.uow() as uow:
        case = uow.session.get(Case, case_id)
        newest = definitions.latest(uow.session, process_id)
        if case is None or newest is None or case.process_id != process_id:
            raise NotFound(msg("migration.case_not_of_process", "no such case of this process"))
        migrated, target = Migrated(case.number or str(case.id), newest.version), newest.id
        if target != target_id:
            raise NewerVersionDeployed(msg("migration.newer_version", "a newer version was deployed meanwhile"))
    # The migration locks the case and moves it in a unit of work of its own (engine.modeling).
    modeling.migrate_case(engine, case_id, target, actor)
    return migrated
