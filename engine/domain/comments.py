"""Comments (审批意见) kept with a case: the reasoning people record beside their decisions."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, Session, mapped_column

from .. import audit
from ..errors import InvalidForm
from ..messages import msg
from ..models import Base, UTCDateTime

MAX_LENGTH = 5000


class CaseComment(Base):
    __tablename__ = "case_comment"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("case.id", ondelete="CASCADE"), index=True)
    author: Mapped[str] = mapped_column(sa.String(200))
    text: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


def add_comment(uow, case_id: int, author: str, text: str, now: datetime) -> CaseComment:
    """Record a comment on the case (audited); blank or overlong text is refused."""
    text = (text or "").strip()
    if not text:
        raise InvalidForm({"text": msg("comments.text_required", "write a comment")})
    if len(text) > MAX_LENGTH:
        raise InvalidForm({"text": msg("comments.too_long", "at most {max_length} characters", max_length=MAX_LENGTH)})
    comment = CaseComment(case_id=case_id, author=author, text=text, created_at=now)
    uow.session.add(comment)
    uow.session.flush()
    uow.record(audit.Entry(now, author, "comment_added", case_id,
                           summary={"comment_id": comment.id, "text": text[:200]}))
    return comment


def comments_for(session: Session, case_id: int) -> list[CaseComment]:
    return list(session.scalars(sa.select(CaseComment).where(CaseComment.case_id == case_id)
                                .order_by(CaseComment.created_at, CaseComment.id)))
