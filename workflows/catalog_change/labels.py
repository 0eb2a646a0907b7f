"""What this procedure's audited actions are called: it audits none of its own (its records are
the engine's shared catalog versions, labelled in engine/labels.py)."""
from __future__ import annotations

ACTIONS: dict[str, str] = {}
