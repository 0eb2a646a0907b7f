"""The shared records the procedures create and act on: grants (arts. 14, 17), violations and
supervision items (art. 31). A procedure's own records (share applications, objections,
inconsistency reports) live in its package, ``workflows/<process_id>/records.py``.
"""
from __future__ import annotations

from .grants import (GRANT_EXPIRY_ACTOR, GRANT_STATUSES, THIRD_PARTY_LIMIT, Grant, active_grants, create_grant,
                     expire_grants, has_active_grant, revoke_grant)
from .violations import (ART31_ITEMS, ART31_ITEMS_EN, NEXT_STEPS, VIOLATION_STEPS, SupervisionItem, Violation,
                         ViolationStep, advance_violation, attach_violation_case, confirm_supervision_item,
                         open_supervision_item, record_violation, resolve_supervision_item)

__all__ = [
    "GRANT_EXPIRY_ACTOR", "GRANT_STATUSES", "THIRD_PARTY_LIMIT", "Grant", "active_grants", "create_grant",
    "expire_grants", "has_active_grant", "revoke_grant",
    "ART31_ITEMS", "ART31_ITEMS_EN", "NEXT_STEPS", "VIOLATION_STEPS", "SupervisionItem", "Violation",
    "ViolationStep", "advance_violation", "attach_violation_case", "confirm_supervision_item",
    "open_supervision_item", "record_violation", "resolve_supervision_item",
]
