"""Evidence files kept with a case (证明材料): what may be stored, where, and the record of it.

A file is accepted by its content (magic bytes), not by its name alone: the name's extension must
match what the content is. It is stored under a random name without extension in a folder outside
the web app's static files, and served only as a download.
"""
from __future__ import annotations

import hashlib
import io
import os
import re
import secrets
import unicodedata
import zipfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, Session, mapped_column

from .. import audit
from ..errors import InvalidForm, NotFound
from ..messages import msg
from ..models import Base, UTCDateTime

MAX_SIZE = 10 * 1024 * 1024  # 10 MB a file
MAX_PER_CASE = 100
NAME_LENGTH = 200
STORED_NAME = re.compile(r"^[0-9a-f]{32}$")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f]")  # control characters but \t \n \f \r


@dataclass(frozen=True)
class Kind:
    content_type: str
    extensions: tuple[str, ...]
    label: str


KINDS = {
    "pdf": Kind("application/pdf", (".pdf",), "PDF"),
    "png": Kind("image/png", (".png",), "PNG"),
    "jpg": Kind("image/jpeg", (".jpg", ".jpeg"), "JPEG"),
    "docx": Kind("application/vnd.openxmlformats-officedocument.wordprocessingml.document", (".docx",), "Word docx"),
    "xlsx": Kind("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", (".xlsx",), "Excel xlsx"),
    "txt": Kind("text/plain", (".txt",), "TXT"),
}
ALLOWED_EXTENSIONS = tuple(ext for kind in KINDS.values() for ext in kind.extensions)


class Attachment(Base):
    __tablename__ = "attachment"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("case.id", ondelete="CASCADE"), index=True)
    task_id: Mapped[str | None] = mapped_column(sa.String(36))
    original_name: Mapped[str] = mapped_column(sa.String(255))
    stored_name: Mapped[str] = mapped_column(sa.String(64), unique=True)
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(sa.String(64))
    content_type: Mapped[str] = mapped_column(sa.String(100))
    uploaded_by: Mapped[str] = mapped_column(sa.String(200))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime)


# -- what a file is -----------------------------------------------------------------------------

def sniff(data: bytes) -> str | None:
    """The kind of file the content is (a key of KINDS), or None if it is none we accept."""
    if data.startswith(b"%PDF-"):
        return "pdf"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpg"
    if data.startswith(b"PK\x03\x04"):
        return _office_kind(data)
    return "txt" if _is_text(data) else None


def _office_kind(data: bytes) -> str | None:
    """docx or xlsx by their package parts; macro-enabled documents (vbaProject.bin) are refused."""
    try:
        names = set(zipfile.ZipFile(io.BytesIO(data)).namelist())
    except (zipfile.BadZipFile, ValueError, OSError):
        return None
    if "[Content_Types].xml" not in names or any(n.lower().endswith("vbaproject.bin") for n in names):
        return None
    if "word/document.xml" in names:
        return "docx"
    if "xl/workbook.xml" in names:
        return "xlsx"
    return None


def _is_text(data: bytes) -> bool:
    """Plain text in UTF-8 or GB18030, without control characters other than tab, line and page breaks."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        return _CONTROL.search(text) is None
    return False


def clean_name(name: str) -> str:
    """The file's own name (no folders, no control characters), at most NAME_LENGTH characters."""
    base = re.split(r"[\\/]", name or "")[-1]
    base = "".join(c for c in base if unicodedata.category(c)[0] != "C").strip().strip(".")
    if len(base) > NAME_LENGTH:
        stem, dot, ext = base.rpartition(".")
        base = (stem[:NAME_LENGTH - len(ext) - 1] + "." + ext) if dot and len(ext) <= 10 else base[:NAME_LENGTH]
    return base


def check_file(name: str, data: bytes) -> tuple[str, str]:
    """(kind, cleaned name) of an acceptable file; InvalidForm under ``file`` otherwise."""
    name = clean_name(name)
    labels = [k.label for k in KINDS.values()]
    if not name:
        raise InvalidForm({"file": msg("attachments.no_file", "choose a file")})
    if not data:
        raise InvalidForm({"file": msg("attachments.empty", "the file is empty")})
    if len(data) > MAX_SIZE:
        raise InvalidForm({"file": msg("attachments.too_large", "the file is larger than {megabytes} MB",
                                       megabytes=MAX_SIZE // 1024 // 1024)})
    kind = sniff(data)
    if kind is None:
        raise InvalidForm({"file": msg("attachments.kind_not_accepted",
                                       "only these kinds of file are accepted: {kinds}",
                                       kinds=", ".join(labels), kinds_zh="、".join(labels))})
    extension = os.path.splitext(name)[1].lower()
    if extension not in KINDS[kind].extensions:
        raise InvalidForm({"file": msg("attachments.extension_mismatch",
                                       "the content is {kind} but the name ends in {extension}",
                                       kind=KINDS[kind].label, extension=extension) if extension else
                           msg("attachments.no_extension", "the content is {kind} but the name ends in nothing",
                               kind=KINDS[kind].label)})
    return kind, name


# -- storage and record -------------------------------------------------------------------------

def store(directory: Path, data: bytes) -> str:
    """Write the content under a new random name (owner read/write only); return the name."""
    directory = Path(directory)
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    stored = secrets.token_hex(16)
    temporary = directory / f".{stored}.part"
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())
    os.replace(temporary, directory / stored)
    return stored


def path_of(directory: Path, stored_name: str) -> Path:
    if not STORED_NAME.match(stored_name):
        raise NotFound(msg("attachments.not_found", "no such attachment"))
    return Path(directory) / stored_name


def discard(directory: Path, stored_name: str) -> None:
    """Remove a stored file whose record was not committed."""
    try:
        path_of(directory, stored_name).unlink()
    except (FileNotFoundError, NotFound):
        pass


def record(uow, case_id: int, task_id: str | None, name: str, data: bytes, kind: str, stored_name: str,
           by: str, now: datetime) -> Attachment:
    """The attachment's row and its audit entry (the caller commits)."""
    row = Attachment(case_id=case_id, task_id=task_id, original_name=name, stored_name=stored_name,
                     size=len(data), sha256=hashlib.sha256(data).hexdigest(),
                     content_type=KINDS[kind].content_type, uploaded_by=by, uploaded_at=now)
    uow.session.add(row)
    uow.session.flush()
    uow.record(audit.Entry(now, by, "attachment_added", case_id, task_id, summary={
        "attachment_id": row.id, "name": name, "size": row.size, "sha256": row.sha256,
        "content_type": row.content_type}))
    return row


def count_for_case(session: Session, case_id: int) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(Attachment).where(
        Attachment.case_id == case_id)) or 0


def for_case(session: Session, case_id: int) -> list[Attachment]:
    return list(session.scalars(sa.select(Attachment).where(Attachment.case_id == case_id)
                                .order_by(Attachment.uploaded_at, Attachment.id)))
