"""Evidence files on cases (证明材料): whoever may work an open task of a case adds files to it (one
audited unit of work; the stored file is removed again when it fails), whoever may see the case
lists and downloads them. The folder is the caller's: the web app keeps it under its instance folder.

The two reads live here with the verb because they guard the same files with the case's rules."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa

from ..domain import attachments
from ..domain.attachments import ALLOWED_EXTENSIONS, MAX_SIZE, Attachment
from ..errors import GovflowError, NotFound, PermissionDenied
from ..models import Case, HumanTask
from ..service import may_see_case, may_work
from ..uow import Actor
from ..messages import msg

__all__ = ["ALLOWED_EXTENSIONS", "MAX_SIZE", "AttachmentInfo", "attach_to_task", "case_attachments",
           "open_attachment"]


@dataclass(frozen=True)
class AttachmentInfo:
    """An attachment's record (the attribute names of ``Attachment``, without where it is stored)."""

    id: int
    case_id: int
    task_id: str | None
    original_name: str
    size: int
    sha256: str
    content_type: str
    uploaded_by: str
    uploaded_at: datetime


def _info(row: Attachment) -> AttachmentInfo:
    return AttachmentInfo(row.id, row.case_id, row.task_id, row.original_name, row.size, row.sha256,
                          row.content_type, row.uploaded_by, row.uploaded_at)


def attach_to_task(engine, actor: Actor, task_id: str, name: str, data: bytes, directory: Path) -> int:
    """Keep a file with the case of an open task the actor may work on; return the attachment id
    (``InvalidForm`` for the file: its size, kind or name)."""
    with engine.uow() as uow:
        row = uow.session.get(HumanTask, str(task_id))
        if row is None:
            raise NotFound(msg("task.not_found", "no such task"))
        if row.state != "ready" or not may_work(row, actor):
            raise PermissionDenied(msg("attachment.not_your_task", "you can only add files to an open task of yours"))
        if attachments.count_for_case(uow.session, row.case_id) >= attachments.MAX_PER_CASE:
            raise GovflowError(msg("attachment.too_many", "a case holds at most {max} files",
                                   max=attachments.MAX_PER_CASE))
        kind, name = attachments.check_file(name, data)
        stored = attachments.store(directory, data)
        try:
            found = attachments.record(uow, row.case_id, row.id, name, data, kind, stored, actor.username,
                                       engine.clock.now())
            attachment_id = found.id
            uow.commit()
        except BaseException:
            attachments.discard(directory, stored)
            raise
    return attachment_id


def case_attachments(engine, actor: Actor, case_id: int) -> list[AttachmentInfo]:
    """The files kept with a case the actor may see (oldest first)."""
    with engine.uow() as uow:
        _visible_case(uow.session, case_id, actor)
        return [_info(a) for a in attachments.for_case(uow.session, case_id)]


def open_attachment(engine, actor: Actor, attachment_id: int, directory: Path) -> tuple[AttachmentInfo, Path]:
    """The attachment and its stored file, for someone who may see its case."""
    with engine.uow() as uow:
        found = uow.session.get(Attachment, attachment_id)
        if found is None:
            raise NotFound(msg("attachment.not_found", "no such attachment"))
        _visible_case(uow.session, found.case_id, actor)
        info, path = _info(found), attachments.path_of(directory, found.stored_name)
    if not path.is_file():
        raise NotFound(msg("attachment.file_missing", "the stored file is missing; tell the administrator"))
    return info, path


def _visible_case(session, case_id: int, actor: Actor) -> Case:
    case = session.scalars(sa.select(Case).where(Case.id == case_id)).first()
    if case is None:
        raise NotFound(msg("case.not_found", "no such case"))
    if not may_see_case(session, case, actor):
        raise PermissionDenied(msg("case.not_visible", "you may not see this case"))
    return case
