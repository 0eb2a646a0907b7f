"""Read models of deployed procedures and their drafts: the modeler's lists, a version's or a draft's
diagram, a process's versions with the comparison and the migration report; and what starting a
procedure needs (the procedures one may start, a start form, where a new case leads its starter),
shared by the start page, the grants' renewal, the public's objection page and the API."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa

from .. import definitions, forms, modeling
from ..domain import drafts
from ..domain.drafts import DefinitionDraft, DiagramRejected
from ..domain.org import Person
from ..errors import NotFound, PermissionDenied
from ..models import Case, DefinitionVersion, HumanTask
from ..modeling import MigrationCheck, Problem, VersionDiff
from ..service import may_work, option_pairs
from ..uow import Actor
from ..messages import msg

__all__ = ["DiagramRejected", "MigrationCheck", "Problem", "VersionDiff"]
NO_VERSION = msg("definition.version_not_found", "no such definition version")


class NotDeployed(NotFound):
    """No version of the procedure is deployed (the pages answer a plain 404)."""

    def __init__(self, process_id: str):
        super().__init__(msg("process.not_deployed", "no deployed process {process_id}", process_id=process_id))


@dataclass(frozen=True)
class ProcessVersion:
    """A deployed version (the attribute names of ``DefinitionVersion``, without the diagram)."""

    id: int
    process_id: str
    version: int
    name: str
    deployed_by: str
    deployed_at: datetime


@dataclass(frozen=True)
class Draft:
    id: int
    process_id: str
    name: str
    saved_by: str
    saved_at: datetime


@dataclass(frozen=True)
class Diagram:
    """A diagram to open or download: a deployed version's (``version``) or a draft's (``draft_id``)."""

    xml: str
    process_id: str
    name: str
    version: int | None = None
    draft_id: int | None = None
    revision: str = ""  # a draft's revision, which a save over it names (engine.domain.drafts)
    saved_by: str = ""  # a draft's last save
    saved_at: datetime | None = None


def _version(row: DefinitionVersion) -> ProcessVersion:
    return ProcessVersion(row.id, row.process_id, row.version, row.name, row.deployed_by, row.deployed_at)


def _draft(row: DefinitionDraft) -> Draft:
    return Draft(row.id, row.process_id, row.name, row.saved_by, row.saved_at)


# -- the modeler --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Overview:
    latest: list[ProcessVersion]  # the newest version of every deployed process
    running: dict[str, dict[int, int]]  # running cases: {process_id: {version: count}}
    drafts: list[Draft]  # every analyst's, the most recently saved first
    names: dict[str, str]  # login -> name, for the logins shown


def overview(engine) -> Overview:
    """The modeler's index: deployed processes with running cases per version, and the drafts."""
    with engine.uow() as uow:
        latest = [_version(r) for r in definitions.list_latest(uow.session)]
        saved = [_draft(d) for d in drafts.list_drafts(uow.session)]
        return Overview(latest, _running(uow.session), saved, _names(
            uow.session, {d.saved_by for d in saved} | {v.deployed_by for v in latest}))


def diagram(engine, *, draft_id: int | None = None, process_id: str = "", version: int | None = None) -> Diagram:
    """A draft's diagram, else a deployed version's (the newest when ``version`` is None)."""
    with engine.uow() as uow:
        if draft_id is not None:
            draft = drafts.get_draft(uow.session, draft_id)
            return Diagram(draft.xml, draft.process_id, draft.name, draft_id=draft.id,
                           revision=drafts.revision_of(draft), saved_by=draft.saved_by, saved_at=draft.saved_at)
        row = _version_row(uow.session, process_id, version)
        return Diagram(row.xml, row.process_id, row.name, version=row.version)


def _version_row(session, process_id: str, version: int | None) -> DefinitionVersion:
    if version is None:
        row = definitions.latest(session, process_id)
    else:
        row = session.scalars(sa.select(DefinitionVersion).where(
            DefinitionVersion.process_id == process_id, DefinitionVersion.version == version)).first()
    if row is None:
        raise NotFound(NO_VERSION)
    return row


def validate(engine, raw: bytes) -> list[Problem]:
    """Every problem the engine finds in a diagram (errors: they block deployment); a file that is
    not a diagram the modeler may keep raises ``DiagramRejected``. Opens no unit of work of its own
    around the engine's checks (they read the rule sets in one)."""
    drafts.read_diagram(raw)
    return modeling.validate_diagram(engine, raw)


@dataclass(frozen=True)
class Versions:
    process_id: str
    rows: list[ProcessVersion]  # newest first
    running: dict[int, int]  # version -> running cases
    names: dict[str, str]
    old: int | None  # the pair compared (None, None: no comparison)
    new: int | None
    diff: VersionDiff | None
    checks: list[MigrationCheck]  # running cases on older versions: can each move to the newest?
    titles: dict[int, str] = field(default_factory=dict)  # case id -> title, for the checks

    @property
    def newest(self) -> ProcessVersion:
        return self.rows[0]


def versions(engine, process_id: str, old: int | None = None, new: int | None = None) -> Versions:
    """A process's versions, who deployed each and when, running cases per version; the comparison
    of ``old`` and ``new`` (else of the newest and the one before it); the migration report."""
    with engine.uow() as uow:
        rows = [_version(r) for r in uow.session.scalars(sa.select(DefinitionVersion).where(
            DefinitionVersion.process_id == process_id).order_by(DefinitionVersion.version.desc()))]
        if not rows:
            raise NotFound(msg("process.not_deployed", "no deployed process {process_id}", process_id=process_id))
        running = _running(uow.session, process_id).get(process_id, {})
        names = _names(uow.session, {r.deployed_by for r in rows})
        older = any(v < rows[0].version for v in running)
        titles = _older_running_titles(uow.session, rows[0]) if older else {}
    # The comparison and the report read in units of work of their own: after this one closed.
    by_version = {r.version: r for r in rows}
    old, new = _pair(by_version, rows[0].version, old, new)
    diff = modeling.diff_versions(engine, by_version[old].id, by_version[new].id) if old and new else None
    checks = modeling.migration_report(engine, rows[0].id) if older else []
    return Versions(process_id, rows, running, names, old, new, diff, checks, titles)


def _pair(by_version: dict, newest: int, old: int | None, new: int | None) -> tuple[int | None, int | None]:
    """The two versions to compare: as asked, else the newest and the one before it."""
    old, new = (v if v in by_version else None for v in (old, new))
    if old is None and new is None and newest > 1 and newest - 1 in by_version:
        return newest - 1, newest
    return (old, new) if old is not None and new is not None and old != new else (None, None)


def _older_running_titles(session, newest: ProcessVersion) -> dict[int, str]:
    """The running cases the migration report lists: on an older version of the process."""
    return dict(session.execute(sa.select(Case.id, Case.title).join(
        DefinitionVersion, Case.definition_id == DefinitionVersion.id).where(
        Case.process_id == newest.process_id, Case.status == "running",
        DefinitionVersion.version < newest.version)).all())


def _running(session, process_id: str | None = None) -> dict[str, dict[int, int]]:
    """Running cases per process and version: {process_id: {version: count}}."""
    query = (sa.select(Case.process_id, DefinitionVersion.version, sa.func.count())
             .join(DefinitionVersion, Case.definition_id == DefinitionVersion.id)
             .where(Case.status == "running").group_by(Case.process_id, DefinitionVersion.version))
    if process_id is not None:
        query = query.where(Case.process_id == process_id)
    counts: dict[str, dict[int, int]] = {}
    for process, version, count in session.execute(query):
        counts.setdefault(process, {})[version] = count
    return counts


def _names(session, logins: set[str]) -> dict[str, str]:
    """People's names for the logins shown (a system login is shown as it is)."""
    if not logins:
        return {}
    return dict(session.execute(sa.select(Person.login, Person.display_name).where(Person.login.in_(logins))).all())


# -- starting a procedure -----------------------------------------------------------------------

def startable(engine, actor: Actor) -> list[ProcessVersion]:
    """The newest version of every deployed procedure ``actor`` may start."""
    with engine.uow() as uow:
        deployed = definitions.list_latest(uow.session)
        return [_version(d) for d in deployed if engine.may_start(d.process_id, actor, uow.session)]


@dataclass(frozen=True)
class StartForm:
    definition: ProcessVersion  # the newest version, on which the case will start
    fields: list[forms.FormField]
    options: dict[str, list[tuple[str, str]]]  # field id -> (value, label) of its enum options


def start_form(engine, process_id: str, actor: Actor) -> StartForm:
    """The start form of a deployed procedure ``actor`` may start (``NotDeployed``, ``PermissionDenied``)."""
    with engine.uow() as uow:
        row = definitions.latest(uow.session, process_id)
        definition = _version(row) if row is not None else None
    if definition is None:
        raise NotDeployed(process_id)
    if not engine.may_start(process_id, actor):
        raise PermissionDenied(msg("process.may_not_start", "you may not start this procedure"))
    fields, options = engine.start_form(process_id, actor)  # its options are read in a unit of work of its own
    return StartForm(definition, fields, option_pairs(options))


@dataclass(frozen=True)
class Started:
    """Where a new case leads its starter: its number, and its first open task they may work on."""

    case_id: int
    number: str
    task_id: str | None


def started(engine, case_id: int, actor: Actor) -> Started:
    with engine.uow() as uow:
        number = uow.session.scalar(sa.select(Case.number).where(Case.id == case_id)) or str(case_id)
        rows = uow.session.scalars(sa.select(HumanTask).where(
            HumanTask.case_id == case_id, HumanTask.state == "ready").order_by(HumanTask.created_at))
        return Started(case_id, number, next((row.id for row in rows if may_work(row, actor)), None))
