"""How the case page words a due instant: midnight in Beijing is the previous day's 24:00."""
from __future__ import annotations

from web.casefile import due_text


def test_midnight_beijing_is_the_previous_days_24_00():
    assert due_text("2026-10-15T16:00:00+00:00") == "2026-10-15 24:00"
    assert due_text("2026-10-16T00:00:00+08:00") == "2026-10-15 24:00"
    assert due_text("2026-10-14T09:00:00+08:00") == "2026-10-14 09:00"
    assert due_text(None) == "—" and due_text("not a date") == "not a date"
