"""What this procedure's audited actions and records are called (message ids: English source text
marked for the catalogs, translated by the front end)."""
from __future__ import annotations

from engine.i18n import N_

ACTIONS = {
    "share_application_submitted": N_("Share application submitted"),
    "share_application_supplemented": N_("Application materials supplemented"),
    "share_application_granted": N_("Share application granted"),
    "share_application_refused": N_("Share application refused"),
    "share_application_withdrawn": N_("Share application withdrawn"),
    "share_application_coordinated": N_("Refusal coordinated by the authority"),
}
