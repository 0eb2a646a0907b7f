"""Lookups remembered for one unit of work (one session): what a single transaction asks several
times — the calendar's fingerprint, the after-hours policy, a department by code — costs one query.

The memo lives in ``session.info`` and is cleared when the unit of work commits or a savepoint of it
rolls back (engine.uow); code that changes a remembered thing forgets it (``forget``).
"""
from __future__ import annotations

from typing import Any, Callable

KEY = "govflow_memo"


def of(session) -> dict:
    return session.info.setdefault(KEY, {})


def remember(session, key: Any, compute: Callable[[], Any]) -> Any:
    found = of(session)
    if key not in found:
        found[key] = compute()
    return found[key]


def forget(session, key: Any = None) -> None:
    """Forget one remembered lookup (or all of them)."""
    if key is None:
        of(session).clear()
    else:
        of(session).pop(key, None)
