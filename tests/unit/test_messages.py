"""Messages are codes with parameters whose words are in the catalogs (engine.messages)."""
from __future__ import annotations

import pickle

from engine.errors import GovflowError
from engine.messages import Message, msg, render


def test_a_message_has_a_code_params_and_renders_in_each_language_from_the_catalog():
    # "please correct the fields" is translated in translations/zh (tools/merge_translations.py)
    found = msg("form.please_correct", "please correct the fields")
    assert found.code == "form.please_correct" and found.params == {}
    assert found.render("en") == "please correct the fields"
    assert found.render("zh") == "请修改标注的字段"
    assert str(found) == "请修改标注的字段 (please correct the fields)"  # what logs and the CLI show


def test_parameters_are_put_into_the_text_and_nested_messages_rendered_in_the_same_language():
    inner = msg("form.please_correct", "please correct the fields")
    outer = msg("test.wrapped", "Case {case_id}: {reason}", case_id=7, reason=inner)
    assert outer.render("en") == "Case 7: please correct the fields"
    assert outer.render("zh") == "Case 7: 请修改标注的字段"  # no Chinese for this id: the English stands in
    assert outer.as_dict() == {"code": "test.wrapped", "params": {
        "case_id": 7, "reason": {"code": "form.please_correct", "params": {}}}}


def test_a_parameter_cannot_inject_a_placeholder_and_a_bad_translation_does_not_raise():
    hostile = msg("test.echo", "Hello {name}", name="{__class__} {0}")
    assert hostile.render("en") == "Hello {__class__} {0}"
    assert msg("test.missing", "Needs {absent}").render("en") == "Needs {absent}"


def test_a_message_survives_being_raised_pickled_and_compared_as_text():
    error = GovflowError(msg("form.please_correct", "please correct the fields"))
    assert str(error) == "请修改标注的字段 (please correct the fields)" and isinstance(error.args[0], Message)
    copy = pickle.loads(pickle.dumps(error.args[0]))
    assert isinstance(copy, Message) and copy.code == "form.please_correct" and copy == error.args[0]
    assert render("plain text", "en") == "plain text"
