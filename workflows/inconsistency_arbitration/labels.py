"""What this procedure's audited actions and records are called (message ids: English source text
marked for the catalogs, translated by the front end)."""
from __future__ import annotations

from engine.i18n import N_

ACTIONS = {
    "inconsistency_proposed": N_("Resolution proposed"),
    "inconsistency_confirmed": N_("Corrections confirmed"),
    "negotiation_lapsed": N_("Negotiation period passed"),
    "inconsistency_reported": N_("Inconsistency reported"),
    "inconsistency_position": N_("Position stated"),
    "inconsistency_decided": N_("Inconsistency settled"),
    "inconsistency_corrected": N_("Correction recorded"),
}
