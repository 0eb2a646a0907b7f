"""Diagram drafts: what an analyst is editing in the modeler before it is deployed, kept on the
server so that it survives a closed browser and other analysts can continue it.

A draft need not be valid (that is what the modeler's validation is for) but it must be safe,
well-formed BPMN 2.0 XML within the size limit: every upload and save goes through ``read_diagram``.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, Session, mapped_column

from .. import audit
from ..definitions import BPMN_NS, NS
from ..errors import GovflowError, NotFound
from ..messages import msg
from ..models import Base, UTCDateTime
from ..spiff.parser import MAX_XML_BYTES, UnsafeXml, parse_xml_safely
from ..uow import UnitOfWork

MAX_NAME = 200


class DefinitionDraft(Base):
    __tablename__ = "definition_draft"

    id: Mapped[int] = mapped_column(primary_key=True)
    process_id: Mapped[str] = mapped_column(sa.String(200), index=True)  # "" while the diagram has none
    name: Mapped[str] = mapped_column(sa.String(MAX_NAME))
    xml: Mapped[str] = mapped_column(sa.Text, deferred=True)
    saved_by: Mapped[str] = mapped_column(sa.String(200))
    saved_at: Mapped[datetime] = mapped_column(UTCDateTime)


class DraftConflict(GovflowError):
    """Someone saved (or deployed, or deleted) the draft after the revision a save was made from:
    the save is refused, never a silent last-save-wins. ``saved_by``/``saved_at``: the draft's
    current save (None when it is gone)."""

    code = "conflict"

    def __init__(self, draft_id: int, saved_by: str | None = None, saved_at: datetime | None = None,
                 revision: str = ""):
        self.draft_id, self.saved_by, self.saved_at, self.revision = draft_id, saved_by, saved_at, revision
        if saved_by is None:
            message = msg("drafts.conflict_gone", "this draft was deployed or deleted after you opened it; yours "
                          "was not saved")
        else:
            from ..calendar import BEIJING
            when = saved_at.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S")
            message = msg("drafts.conflict", "{login} saved this draft at {time}, after you opened it; yours was "
                          "not saved", login=saved_by, time=when)
        super().__init__(message)


class DiagramRejected(GovflowError):
    """An uploaded or saved file that is not a diagram the modeler may keep; ``kind`` says why."""

    code = "diagram_rejected"

    def __init__(self, kind: str, message: str):
        self.kind = kind
        super().__init__(message)


@dataclass(frozen=True)
class DiagramHead:
    """What a safe, well-formed BPMN file declares: its executable process, if any."""

    xml: str
    process_id: str
    name: str


def read_diagram(raw: bytes | str) -> DiagramHead:
    """Check an untrusted file: size, no DTD or entities, well-formed, UTF-8, a BPMN 2.0 document."""
    data = raw.encode("utf-8") if isinstance(raw, str) else raw
    if not data.strip():
        raise DiagramRejected("empty", msg("drafts.empty", "the file is empty"))
    if len(data) > MAX_XML_BYTES:
        raise DiagramRejected("too_large", msg("drafts.too_large",
                                               "the file is too large: {size} bytes, the limit is {limit}",
                                               size=len(data), limit=MAX_XML_BYTES))
    try:
        root = parse_xml_safely(data)
    except UnsafeXml as exc:
        if "DOCTYPE" in str(exc):
            raise DiagramRejected("dtd", msg("drafts.dtd", "files with a DOCTYPE or entity declarations are refused "
                                                          "for safety")) from None
        raise DiagramRejected("not_xml", msg("drafts.not_xml", "not a well-formed XML file: {detail}",
                                             detail=str(exc).split(": ", 1)[-1])) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise DiagramRejected("encoding", msg("drafts.encoding", "the file must be encoded in UTF-8")) from None
    if root.tag != f"{{{BPMN_NS}}}definitions":
        raise DiagramRejected("not_bpmn", msg("drafts.not_bpmn",
                                              "not a BPMN 2.0 diagram: the root element must be bpmn:definitions"))
    processes = root.xpath("./bpmn:process[@isExecutable='true']", namespaces=NS) or \
        root.xpath("./bpmn:process", namespaces=NS)
    process = processes[0] if processes else None
    process_id = (process.get("id") or "") if process is not None else ""
    name = (process.get("name") or "") if process is not None else ""
    return DiagramHead(text, process_id[:200], name)


def revision_of(draft: DefinitionDraft) -> str:
    """A draft's revision: the instant of its last save, to the microsecond, which every save moves
    forward (``save_draft``), so that it names one save. The modeler sends it back with a save."""
    return draft.saved_at.astimezone(timezone.utc).isoformat(timespec="microseconds")


def check_revision(session: Session, draft_id: int, revision: str) -> DefinitionDraft | None:
    """Lock the draft and check it is still at ``revision`` (``DraftConflict`` when someone saved
    it since); None when it is gone."""
    draft = session.get(DefinitionDraft, draft_id, with_for_update=True, populate_existing=True)
    if draft is not None and revision_of(draft) != revision:
        raise DraftConflict(draft_id, draft.saved_by, draft.saved_at, revision_of(draft))
    return draft


def save_draft(uow: UnitOfWork, draft_id: int | None, raw: bytes | str, name: str, login: str,
               now: datetime, revision: str | None = None) -> DefinitionDraft:
    """Create a draft or overwrite one; the name defaults to the process's name or id. Over a draft,
    with a ``revision`` the draft must still be at it (and exist): else ``DraftConflict``."""
    head = read_diagram(raw)
    name = " ".join((name or "").split())[:MAX_NAME] or head.name or head.process_id or "未命名流程"
    if draft_id is None:
        draft = DefinitionDraft(process_id=head.process_id, name=name, xml=head.xml, saved_by=login, saved_at=now)
        uow.session.add(draft)
        uow.session.flush()
    else:
        if revision is None:
            draft = get_draft(uow.session, draft_id)
        else:
            draft = check_revision(uow.session, draft_id, revision)
            if draft is None:
                raise DraftConflict(draft_id)
        # Every save moves the revision forward, even within one tick of the clock.
        later = max(now, draft.saved_at + timedelta(microseconds=1))
        draft.process_id, draft.name, draft.xml, draft.saved_by, draft.saved_at = \
            head.process_id, name, head.xml, login, later
    uow.record(audit.Entry(now, login, "definition_draft_saved", summary={
        "draft_id": draft.id, "process_id": draft.process_id, "name": draft.name}))
    return draft


def get_draft(session: Session, draft_id: int) -> DefinitionDraft:
    draft = session.get(DefinitionDraft, draft_id)
    if draft is None:
        raise NotFound(msg("drafts.not_found", "no such draft"))
    return draft


def list_drafts(session: Session) -> list[DefinitionDraft]:
    """Every analyst's drafts, the most recently saved first."""
    return list(session.scalars(sa.select(DefinitionDraft).order_by(DefinitionDraft.saved_at.desc(),
                                                                     DefinitionDraft.id.desc())))


def delete_draft(uow: UnitOfWork, draft_id: int, login: str, now: datetime) -> str:
    """Discard a draft; returns its name."""
    draft = get_draft(uow.session, draft_id)
    uow.session.delete(draft)
    uow.record(audit.Entry(now, login, "definition_draft_deleted", summary={
        "draft_id": draft_id, "process_id": draft.process_id, "name": draft.name}))
    return draft.name
