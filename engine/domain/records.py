"""The records the procedures create and act on: share applications and grants (arts. 14, 17),
objections (art. 18), inconsistency reports (art. 19), violations and supervision items (art. 31).

One module per kind of record; this one gathers their public names.
"""
from __future__ import annotations

from .grants import (GRANT_EXPIRY_ACTOR, GRANT_STATUSES, THIRD_PARTY_LIMIT, Grant, active_grants, create_grant,
                     expire_grants, has_active_grant, revoke_grant)
from .inconsistencies import (InconsistencyParty, InconsistencyReport, create_inconsistency_report,
                              decide_inconsistency, record_correction, record_position)
from .objections import (MAX_EXTENSION_DAYS, OBJECTOR_KINDS, RECEIPT_ALPHABET, RECEIPT_LENGTH, Objection,
                         answer_objection, create_objection, decide_extension, objection_by_receipt,
                         record_extension)
from .share_applications import (APPLICATION_STATUSES, COORDINATION_OUTCOMES, ShareApplication,
                                 coordinate_share_application, create_share_application, decide_share_application,
                                 withdraw_share_application)
from .violations import (ART31_ITEMS, ART31_ITEMS_EN, NEXT_STEPS, VIOLATION_STEPS, SupervisionItem, Violation,
                         ViolationStep, advance_violation, attach_violation_case, confirm_supervision_item,
                         open_supervision_item, record_violation, resolve_supervision_item)

__all__ = [
    "GRANT_EXPIRY_ACTOR", "GRANT_STATUSES", "THIRD_PARTY_LIMIT", "Grant", "active_grants", "create_grant",
    "expire_grants", "has_active_grant", "revoke_grant",
    "InconsistencyParty", "InconsistencyReport", "create_inconsistency_report", "decide_inconsistency",
    "record_correction", "record_position",
    "MAX_EXTENSION_DAYS", "OBJECTOR_KINDS", "RECEIPT_ALPHABET", "RECEIPT_LENGTH", "Objection", "answer_objection",
    "create_objection", "decide_extension", "objection_by_receipt", "record_extension",
    "APPLICATION_STATUSES", "COORDINATION_OUTCOMES", "ShareApplication", "coordinate_share_application",
    "create_share_application", "decide_share_application", "withdraw_share_application",
    "ART31_ITEMS", "ART31_ITEMS_EN", "NEXT_STEPS", "VIOLATION_STEPS", "SupervisionItem", "Violation",
    "ViolationStep", "advance_violation", "attach_violation_case", "confirm_supervision_item",
    "open_supervision_item", "record_violation", "resolve_supervision_item",
]
