"""The objection as the case page shows it: never the objector's contacts or receipt code (they are
the objector's)."""
from __future__ import annotations

import sqlalchemy as sa

from engine.i18n import N_
from engine.record_views import Msg, RecordView, facts, joined, term

from .records import OBJECTION_STATUSES, OBJECTOR_KINDS, OUTCOMES, Objection

EXTENSION = {True: N_("approved"), False: N_("refused"), None: N_("awaiting decision")}


def record_views(session, case_id: int) -> list[RecordView]:
    found = session.scalars(sa.select(Objection).where(Objection.case_id == case_id).order_by(Objection.id)).unique()
    return [_view(o) for o in found]


def _view(o: Objection) -> RecordView:
    extension = joined(o.extension_days, Msg(EXTENSION[o.extension_approved])) if o.extension_days else None
    return RecordView("objection", N_("Objection"), f"#{o.id}", (o.resource_code,),
                      term(OBJECTION_STATUSES, o.status), facts(
        (N_("Objector"), term(OBJECTOR_KINDS, o.objector_kind)), (N_("Provider department"), o.provider.name),
        (N_("Record in doubt"), o.record_ref), (N_("What is wrong"), o.description),
        (N_("Outcome"), term(OUTCOMES, o.outcome)), (N_("Answer"), o.answer),
        (N_("Correction"), o.correction), (N_("Extension (working days)"), extension)))
