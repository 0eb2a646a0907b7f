"""What the engine's own audited actions are called (message ids, translated by the front end).

The engine's actions (cases, tasks, deadlines, periods) and those of the shared records (grants,
violations, supervision items, catalog versions) are here; a procedure names its own in
``workflows/<process_id>/labels.py`` (``ACTIONS``), and ``Engine.action_labels`` joins them.
tests/unit/test_labels.py fails when an audited action has no label.
"""
from __future__ import annotations

from .i18n import N_

ACTIONS = {
    "case_started": N_("Case started"),
    "task_created": N_("Task received"),
    "task_claimed": N_("Claimed"),
    "task_unclaimed": N_("Released to the shared inbox"),
    "task_transferred": N_("Transferred"),
    "task_reassigned": N_("Reassigned by the data authority"),
    "task_urged": N_("Urged"),
    "task_completed": N_("Submitted"),
    "task_cancelled": N_("Task withdrawn"),
    "comment_added": N_("Comment"),
    "timer_fired": N_("Deadline timer"),
    "deadline_moved": N_("Due date moved"),
    "period_opened": N_("Statutory period started"),
    "period_overdue": N_("Statutory period passed"),
    "period_closed": N_("Statutory period ended"),
    "period_moved": N_("Statutory period moved"),
    "violation_deadline_moved": N_("Rectification deadline moved"),
    "case_ended": N_("Case concluded"),
    "task_returned": N_("Returned to the previous step"),
    "attachment_added": N_("Evidence file added"),
    "case_migrated": N_("Moved to a new version of the procedure"),
    "grant_created": N_("Grant issued"),
    "grant_revoked": N_("Grant revoked"),
    "grant_expired": N_("Grant expired"),
    "grant_expiry_notified": N_("Consumer told the grant expires soon"),
    "grant_renewal_applied": N_("Renewal of a grant applied for"),
    "violation_recorded": N_("Violation recorded"),
    "violation_notified": N_("Rectification notice issued"),
    "violation_rectified": N_("Rectification accepted"),
    "violation_ordered": N_("Ordered to correct within a time limit"),
    "violation_criticised": N_("Public criticism issued"),
    "violation_referred": N_("Referred for disciplinary measures"),
    "violation_closed": N_("Violation closed"),
    "violation_case_attached": N_("Violation linked to this case"),
    "supervision_opened": N_("Supervision item opened"),
    "supervision_confirmed": N_("Supervision item confirmed as a violation"),
    "supervision_resolved": N_("Supervision item resolved"),
    "catalog_published": N_("Catalog version published"),
}
