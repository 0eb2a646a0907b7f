"""Evidence files on cases: who may add them (whoever may work an open task of the case) and who may
read them (whoever may see the case). The folder is the caller's: the web app keeps it under its
instance folder."""
from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from .domain import attachments
from .domain.attachments import Attachment
from .errors import GovflowError, NotFound, PermissionDenied
from .models import Case, HumanTask
from .service import Engine, may_see_case, may_work
from .uow import Actor


def attach_to_task(engine: Engine, task_id: str, actor: Actor, name: str, data: bytes, directory: Path) -> int:
    """Keep a file with the case of an open task the actor may work on; return the attachment id."""
    with engine.uow() as uow:
        row = uow.session.get(HumanTask, str(task_id))
        if row is None:
            raise NotFound("任务不存在 (no such task)")
        if row.state != "ready" or not may_work(row, actor):
            raise PermissionDenied("只能为自己可办理的待办任务上传附件 (you can only add files to an open task of yours)")
        if attachments.count_for_case(uow.session, row.case_id) >= attachments.MAX_PER_CASE:
            raise GovflowError(f"每个案件最多 {attachments.MAX_PER_CASE} 个附件 "
                               f"(a case holds at most {attachments.MAX_PER_CASE} files)")
        kind, name = attachments.check_file(name, data)
        stored = attachments.store(directory, data)
        try:
            found = attachments.record(uow, row.case_id, row.id, name, data, kind, stored, actor.username,
                                       engine.clock.now())
            uow.commit()
        except BaseException:
            attachments.discard(directory, stored)
            raise
        return found.id


def case_attachments(engine: Engine, case_id: int, actor: Actor) -> list[Attachment]:
    """The files kept with a case the actor may see (oldest first)."""
    with engine.uow() as uow:
        _visible_case(uow.session, case_id, actor)
        return attachments.for_case(uow.session, case_id)


def open_attachment(engine: Engine, attachment_id: int, actor: Actor, directory: Path) -> tuple[Attachment, Path]:
    """The attachment and its stored file, for someone who may see its case."""
    with engine.uow() as uow:
        found = uow.session.get(Attachment, attachment_id)
        if found is None:
            raise NotFound("附件不存在 (no such attachment)")
        _visible_case(uow.session, found.case_id, actor)
        path = attachments.path_of(directory, found.stored_name)
    if not path.is_file():
        raise NotFound("附件文件已丢失，请联系管理员 (the stored file is missing; tell the administrator)")
    return found, path


def _visible_case(session, case_id: int, actor: Actor) -> Case:
    case = session.scalars(sa.select(Case).where(Case.id == case_id)).first()
    if case is None:
        raise NotFound("案件不存在 (no such case)")
    if not may_see_case(session, case, actor):
        raise PermissionDenied("您无权查看此案件 (you may not see this case)")
    return case
