"""The inconsistency report as the case page shows it: each party's position, agreement and
correction, the outcome and the decision."""
from __future__ import annotations

import sqlalchemy as sa

from engine.i18n import N_
from engine.record_views import Fact, Msg, RecordView, facts, joined, term

from .records import OUTCOMES, REPORT_STATUSES, InconsistencyReport

AGREED = {True: N_("agrees"), False: N_("disagrees")}


def record_views(session, case_id: int) -> list[RecordView]:
    found = session.scalars(sa.select(InconsistencyReport).where(InconsistencyReport.case_id == case_id)
                            .order_by(InconsistencyReport.id)).unique()
    return [_view(r) for r in found]


def _view(r: InconsistencyReport) -> RecordView:
    parties = tuple(Fact(f"{p.department.name} · {p.resource_code}", _party(p), translate=False) for p in r.parties)
    return RecordView("inconsistency", N_("Inconsistency report"), f"#{r.id}", (),
                      term(REPORT_STATUSES, r.status),
                      facts((N_("Description"), r.description)) + parties
                      + facts((N_("Outcome"), term(OUTCOMES, r.outcome)), (N_("Decision"), r.decision)))


def _party(p):
    correction = joined(Msg(N_("must correct")), p.correction_note or Msg(N_("not yet corrected")), sep=": ") \
        if p.must_correct else None
    agreed = Msg(AGREED[p.agreed]) if p.agreed is not None else None
    return joined(p.position or Msg(N_("no position yet")), agreed, correction)
