"""The analysts' verbs on diagrams (流程设计器): save and delete drafts, deploy a diagram as a new
version (discarding the draft it came from), move a running case to the newest version. Each is one
audited unit of work, for the ``analyst`` role only. Deploying is implemented here once: ``install``
is the same unit of work for the installation itself (``Engine.deploy``, ``govflow deploy``).

Deployed versions are the analysts' (docs/architecture.md, "Deploying diagrams"): a file whose
content is already some version of its process is a no-op, and a file never replaces a version a
person deployed after the installation's own, unless forced. Drafts are saved optimistically: a
save names the revision it was made from and is refused (``DraftConflict``) when someone saved the
draft since."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from .. import audit, definitions, modeling
from ..calendar import BEIJING
from ..domain import drafts
from ..domain.drafts import DiagramRejected, DraftConflict
from ..errors import GovflowError, NotFound, PermissionDenied
from ..messages import Message, msg
from ..models import Case
from ..service import DeployResult
from ..uow import Actor

__all__ = ["DeployResult", "DiagramRejected", "DraftConflict", "Installed", "NewerVersionDeployed", "delete_draft",
           "deploy", "install", "migrate_case", "save_draft"]
ANALYSTS = frozenset({"analyst"})


class NewerVersionDeployed(GovflowError):
    """The version a migration was checked against is no longer the newest."""

    code = "conflict"


@dataclass(frozen=True)
class SavedDraft:
    id: int
    name: str
    revision: str = ""  # what the next save over it must name


@dataclass(frozen=True)
class Installed(DeployResult):
    """What installing a file did. ``outcome``: ``deployed`` (a new version, ``created``),
    ``identical`` (the file is version ``equals``: nothing deployed), ``kept`` (the newest version,
    deployed by a person, stays: ``--force`` deploys over it) or ``present`` (seeding: the process
    has versions already). ``version``/``definition_id``: the new version, the identical one, or
    else the newest. ``newest_*`` describe the newest version when nothing was deployed."""

    outcome: str = "deployed"
    equals: int | None = None
    newest_version: int | None = None
    newest_by: str = ""
    newest_at: datetime | None = None

    @property
    def kept_by_person(self) -> bool:
        """The newest version is a person's and not this file's: what ``--force`` would replace."""
        return (self.newest_version is not None and self.equals != self.newest_version
                and definitions.by_person(self.newest_by))

    def note(self) -> Message:
        """What happened, for the command line."""
        if self.outcome == "deployed":
            return msg("deploy.deployed", "{process_id} deployed as version {version}", process_id=self.process_id,
                       version=self.version)
        if self.outcome == "present":
            return msg("deploy.present", "{process_id} has version {version} already: not seeded",
                       process_id=self.process_id, version=self.newest_version)
        when = self.newest_at.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M") if self.newest_at else ""
        kept = msg("deploy.kept", "kept version {version} deployed by {login} at {time}; use --force to deploy "
                   "the file over it", version=self.newest_version, login=self.newest_by, time=when)
        if self.outcome == "kept":
            return msg("deploy.kept_newest", "{process_id}: {kept}", process_id=self.process_id, kept=kept)
        if self.kept_by_person:
            return msg("deploy.identical_kept", "{process_id} unchanged: the file is version {version}; {kept}",
                       process_id=self.process_id, version=self.equals, kept=kept)
        if self.equals != self.newest_version:
            return msg("deploy.identical_older", "{process_id} unchanged: the file is version {version}, the newest "
                       "is version {newest}; use --force to deploy the file over it", process_id=self.process_id,
                       version=self.equals, newest=self.newest_version)
        return msg("deploy.identical", "{process_id} unchanged: the file is version {version}",
                   process_id=self.process_id, version=self.equals)


@dataclass(frozen=True)
class Migrated:
    case_number: str
    version: int  # the version the case now runs on


def require_analyst(actor: Actor) -> None:
    if not actor.roles & ANALYSTS:
        raise PermissionDenied(msg("modeler.analysts_only", "the modeler is for process analysts only"))


def save_draft(engine, actor: Actor, draft_id: int | None, raw: bytes | str, name: str = "",
               revision: str | None = None) -> SavedDraft:
    """Save a diagram as a new draft (``draft_id`` None: also an upload) or over a draft, which must
    still be at ``revision`` (the one the analyst opened or last saved): else ``DraftConflict``,
    naming who saved it since. ``DiagramRejected`` (with its ``kind``) for a file the modeler may not
    keep."""
    require_analyst(actor)
    with engine.uow() as uow:
        draft = drafts.save_draft(uow, draft_id, raw, name, actor.username, engine.clock.now(), revision)
        saved = SavedDraft(draft.id, draft.name, drafts.revision_of(draft))
        uow.commit()
    return saved


def delete_draft(engine, actor: Actor, draft_id: int) -> str:
    """Discard a draft; return its name (``NotFound`` when there is none)."""
    require_analyst(actor)
    with engine.uow() as uow:
        name = drafts.delete_draft(uow, draft_id, actor.username, engine.clock.now())
        uow.commit()
    return name


def deploy(engine, actor: Actor, raw: bytes | str, draft_id: int | None = None,
           revision: str | None = None) -> DeployResult:
    """Deploy a diagram as its process's next version (identical to the newest: not created; an
    analyst may deploy an older version's content again, as the newest) and discard the draft it
    came from, if it still exists, in the same transaction. With a ``revision``, the draft must still
    be at it (else ``DraftConflict``: another analyst's save is never discarded unseen).
    ``DefinitionError`` names the element at fault."""
    require_analyst(actor)
    return _deploy(engine, raw, actor.username, draft_id, revision)


def install(engine, raw: bytes | str, by: str = "system:deploy", *, force: bool = False,
            seed: bool = False) -> Installed:
    """Deploy a diagram file as the installation itself: the bootstrap, ``govflow deploy`` (whoever
    runs it operates the installation) and tests' fixtures, recorded under ``by``. The same unit of
    work as ``deploy``, without an analyst to check, and with the rules that keep the analysts'
    versions: a file that is already some version of its process deploys nothing; a file does not
    replace a newest version a person deployed (outcome ``kept``) unless ``force`` (which also
    makes a file identical to an older version the newest again); ``seed`` deploys only a process
    with no version at all. ``DefinitionError`` for a malformed file."""
    return _deploy(engine, raw, by, None, None, force=force, seed=seed, installing=True)


def _deploy(engine, raw: bytes | str, by: str, draft_id: int | None, revision: str | None, *,
            force: bool = False, seed: bool = False, installing: bool = False) -> Installed:
    raw = definitions.normalise(raw)
    parsed = definitions.parse_diagram(raw, engine.allowed_calls(definitions.peek_process_id(raw)))
    now = engine.clock.now()
    with engine.uow() as uow:
        if draft_id is not None and revision is not None:
            drafts.check_revision(uow.session, draft_id, revision)
        if installing:
            unchanged = _unchanged(uow.session, parsed.process_id, raw, force, seed)
            if unchanged is not None:
                return unchanged
        row, created = definitions.add_version(uow.session, parsed, raw, engine.serializer, by, now)
        if created:
            uow.record(audit.Entry(now, by, "definition_deployed", summary={
                "process_id": row.process_id, "version": row.version, "hash": row.content_hash}))
        if draft_id is not None:
            _discard(uow, draft_id, by, now)
        result = Installed(row.id, row.process_id, row.version, created,
                           "deployed" if created else "identical", None if created else row.version,
                           *(() if created else (row.version, row.deployed_by, row.deployed_at)))
        uow.commit()
    if created:
        engine.definitions.put(result.definition_id, parsed.bundle)
    return result


def _unchanged(session, process_id: str, raw: bytes, force: bool, seed: bool) -> Installed | None:
    """What installing a file leaves as it is, or None when the file deploys as the next version."""
    newest = definitions.latest(session, process_id)
    if newest is None:
        return None
    about = (newest.version, newest.deployed_by, newest.deployed_at)
    if seed:
        return Installed(newest.id, process_id, newest.version, False, "present", None, *about)
    same = definitions.with_content(session, process_id, raw)
    if same is not None and (same.id == newest.id or not force):
        return Installed(same.id, process_id, same.version, False, "identical", same.version, *about)
    if not force and definitions.by_person(newest.deployed_by):
        return Installed(newest.id, process_id, newest.version, False, "kept", None, *about)
    return None


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
