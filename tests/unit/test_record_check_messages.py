"""Field checks of engine.domain.record_checks speak in messages: a label Message (new form) or the
old (中文, English) pair (callers not yet converted) give the same text."""
from __future__ import annotations

from engine.domain.record_checks import Checks
from engine.messages import Message, msg

SCENARIO = msg("label.usage_scenario", "usage scenario")


def test_a_label_message_makes_a_message_with_the_label_as_parameter():
    check = Checks(None)
    check.text("scenario", "  ", SCENARIO)
    check.text("basis", "x" * 11, SCENARIO, max_length=10)
    found = check.errors["scenario"]
    assert isinstance(found, Message) and found.code == "check.required" and found.params["label"] is SCENARIO
    assert found.render("en") == "the usage scenario is required" and found.render("zh") == "应用场景必填"
    assert str(check.errors["basis"]) == "应用场景不超过 10 字 (the usage scenario has at most 10 characters)"


def test_the_old_pair_of_words_still_gives_the_old_text():
    check = Checks(None)
    check.text("scenario", None, "应用场景", "usage scenario")
    check.text("basis", "x" * 11, "应用场景", "usage scenario", 10)
    check.fail("other", "旧的说法", "the old words")
    assert check.errors == {"scenario": "应用场景必填 (the usage scenario is required)",
                            "basis": "应用场景不超过 10 字 (the usage scenario has at most 10 characters)",
                            "other": "旧的说法 (the old words)"}
