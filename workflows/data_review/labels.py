"""What this procedure's audited actions and records are called (message ids: English source text
marked for the catalogs, translated by the front end)."""
from __future__ import annotations

from engine.i18n import N_

ACTIONS = {
    "objection_received": N_("Objection received"),
    "objection_answered": N_("Objection answered"),
    "objection_extension_requested": N_("Extension requested"),
    "objection_extension_decided": N_("Extension decided"),
    "contact_data_anonymised": N_("The objector's contact data anonymised (retention period over)"),
}
