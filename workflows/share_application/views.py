"""The share application as the case page shows it (engine.record_views; its grant is a shared
record the engine shows)."""
from __future__ import annotations

import sqlalchemy as sa

from engine.i18n import N_
from engine.record_views import RecordView, facts, items, period, term

from .records import APPLICATION_STATUSES, COORDINATION_OUTCOMES, ShareApplication


def record_views(session, case_id: int) -> list[RecordView]:
    found = session.scalars(sa.select(ShareApplication).where(ShareApplication.case_id == case_id)
                            .order_by(ShareApplication.id)).unique()
    return [RecordView("share_application", N_("Share application"), f"#{a.id}", (a.resource_code,),
                       term(APPLICATION_STATUSES, a.status), facts(
        (N_("Consumer department"), a.consumer.name), (N_("Provider department"), a.provider.name),
        (N_("Data items"), items(a.data_items)), (N_("Usage scenario"), a.scenario),
        (N_("Period of use"), period(a.period_from, a.period_until)), (N_("Materials"), items(a.materials)),
        (N_("Reason for refusal"), a.refusal_reason), (N_("Basis of refusal"), a.refusal_basis),
        (N_("Coordination"), term(COORDINATION_OUTCOMES, a.coordination_outcome)),
        (N_("Coordination note"), a.coordination_note))) for a in found]
