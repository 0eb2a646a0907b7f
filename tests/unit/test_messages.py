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


# Texts that look bilingual but are data kept as they are: the grant's third-party limit is
# copied into each grant's usage limits (art. 14 para. 2), stored text, not a message.
DATA = {"engine/domain/grants.py": 1}


def test_no_message_is_written_as_a_bilingual_literal_any_more():
    """Messages are codes whose words are in the catalogs: no "中文 (English)" string is left in the
    engine or the procedures (docstrings aside), except the data listed in ``DATA``."""
    import ast
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    bilingual = re.compile(r"[\u4e00-\u9fff][^()]*\([^()]*[A-Za-z]{3}[^()]*\)")
    found: dict[str, int] = {}
    for path in [*root.joinpath("engine").rglob("*.py"), *root.joinpath("workflows").rglob("*.py")]:
        if {"migrations", "demo"} & set(path.parts):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                      if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef))
                      and node.body and isinstance(node.body[0], ast.Expr)
                      and isinstance(node.body[0].value, ast.Constant)}
        inside_f = {id(part) for node in ast.walk(tree) if isinstance(node, ast.JoinedStr) for part in node.values}
        for node in ast.walk(tree):
            if isinstance(node, ast.JoinedStr):  # f"中文 {x} (English {x})"
                text = "".join(p.value if isinstance(p, ast.Constant) else "{}" for p in node.values)
            elif isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings \
                    and id(node) not in inside_f:
                text = node.value
            else:
                continue
            if bilingual.search(text):
                key = str(path.relative_to(root))
                found[key] = found.get(key, 0) + 1
    assert found == DATA


def test_a_message_stored_as_text_splits_even_when_its_english_has_parentheses():
    from web.i18n import split_stored
    stored = str(msg("test.nested", "{task}: overdue (art. {article}, due {due})", task="核实", article=18,
                     due="2026-11-09"))
    assert split_stored("核实 已超期 (核实: overdue (art. 18, due 2026-11-09))") == (
        "核实 已超期", "核实: overdue (art. 18, due 2026-11-09)")
    assert split_stored("请修改标注的字段 (please correct the fields)") == ("请修改标注的字段", "please correct the fields")
    assert split_stored("no chinese (here)") is None and split_stored("未完 (") is None
    assert stored.startswith("核实")
