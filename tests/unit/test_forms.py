"""engine.forms: server-side validation of submitted forms and the deploy-time form check."""
from __future__ import annotations

import pytest

from engine.errors import InvalidForm
from engine.forms import FormField, Option, check_definition, fields_from_extensions, validate

REQUIRED = "必填 (required)"
NOT_A_FIELD = "不是此表单的字段 (not a field of this form)"


def field(id: str, type: str = "string", options=(), properties=None, **validation) -> FormField:
    """A form field; constraints as keyword arguments (``required=None``, ``minlength="2"``)."""
    return FormField(id=id, label=id, type=type, options=tuple(Option(o, o) for o in options),
                     validation=validation, properties=properties or {})


def errors_of(fields, data, **kwargs) -> dict[str, str]:
    with pytest.raises(InvalidForm) as exc:
        validate(fields, data, **kwargs)
    return exc.value.errors


# --------------------------------------------------------------------------- required


@pytest.mark.parametrize("value", [None, "", "   ", "\n\t"])
def test_required_field_refuses_blank(value):
    assert errors_of([field("summary", required=None)], {"summary": value}) == {"summary": REQUIRED}


def test_required_field_refuses_missing():
    assert errors_of([field("summary", required=None)], {}) == {"summary": REQUIRED}


def test_optional_blank_field_is_left_out():
    assert validate([field("note"), field("pages", "long")], {"note": "  ", "pages": ""}) == {}


@pytest.mark.parametrize("type, value, cleaned", [
    ("boolean", False, False), ("boolean", "0", False), ("long", 0, 0), ("long", "0", 0)])
def test_falsy_values_satisfy_required(type, value, cleaned):
    assert validate([field("x", type, required=None)], {"x": value}) == {"x": cleaned}


# --------------------------------------------------------------------------- strings


def test_string_is_stripped_and_numbers_become_text():
    fields = [field("a"), field("b"), field("c", "textarea")]
    assert validate(fields, {"a": "  申请  ", "b": 42, "c": "第一行\n第二行"}) == {
        "a": "申请", "b": "42", "c": "第一行\n第二行"}


@pytest.mark.parametrize("value", [True, ["a"], {"a": 1}])
def test_string_refuses_non_text(value):
    assert errors_of([field("a")], {"a": value}) == {"a": "应为文本 (must be text)"}


@pytest.mark.parametrize("value, error", [
    ("a", "至少 2 字 (at least 2 characters)"),
    (" a ", "至少 2 字 (at least 2 characters)"),   # counted after stripping
    ("abcdef", "最多 5 字 (at most 5 characters)"),
])
def test_minlength_maxlength(value, error):
    fields = [field("s", minlength="2", maxlength="5")]
    assert errors_of(fields, {"s": value}) == {"s": error}


@pytest.mark.parametrize("value", ["ab", "abcde", "数据共享"])
def test_length_within_limits(value):
    assert validate([field("s", minlength="2", maxlength="5")], {"s": value}) == {"s": value}


def test_oversize_string_is_refused_even_without_maxlength():
    assert errors_of([field("s")], {"s": "x" * 10_001}) == {"s": "过长，最多 10000 字 (too long: at most 10000 characters)"}
    assert validate([field("s")], {"s": "x" * 10_000}) == {"s": "x" * 10_000}


def test_oversize_limit_is_configurable_and_applies_to_textarea():
    assert errors_of([field("t", "textarea")], {"t": "长" * 11}, max_length=10) == {
        "t": "过长，最多 10 字 (too long: at most 10 characters)"}


# --------------------------------------------------------------------------- long


@pytest.mark.parametrize("value, cleaned", [("12", 12), (" 12 ", 12), (12, 12), ("-3", -3)])
def test_long_conversion(value, cleaned):
    assert validate([field("n", "long")], {"n": value}) == {"n": cleaned}


@pytest.mark.parametrize("value", ["1.5", "abc", "1e3", True, 2.5])
def test_long_refuses_non_integers(value):
    assert errors_of([field("n", "long")], {"n": value}) == {"n": "应为整数 (must be a whole number)"}


@pytest.mark.parametrize("value, error", [
    ("0", "不能小于 1 (at least 1)"), ("501", "不能大于 500 (at most 500)")])
def test_min_max(value, error):
    assert errors_of([field("n", "long", min="1", max="500")], {"n": value}) == {"n": error}


@pytest.mark.parametrize("value", ["1", "500"])
def test_min_max_bounds_are_inclusive(value):
    assert validate([field("n", "long", min="1", max="500")], {"n": value}) == {"n": int(value)}


# --------------------------------------------------------------------------- boolean, date


@pytest.mark.parametrize("value", [True, "true", "TRUE", "on", "1", "yes", "是"])
def test_boolean_true(value):
    assert validate([field("b", "boolean")], {"b": value}) == {"b": True}


@pytest.mark.parametrize("value", [False, "false", "off", "0", "no", "否"])
def test_boolean_false(value):
    assert validate([field("b", "boolean")], {"b": value}) == {"b": False}


@pytest.mark.parametrize("value", ["maybe", "2", "真"])
def test_boolean_refuses_other_text(value):
    assert errors_of([field("b", "boolean")], {"b": value}) == {"b": "应为是或否 (must be yes or no)"}


@pytest.mark.parametrize("value", ["2026-03-02", " 2026-03-02 "])
def test_date_is_normalised_to_iso_text(value):
    assert validate([field("d", "date")], {"d": value}) == {"d": "2026-03-02"}


@pytest.mark.parametrize("value", ["2026-02-30", "02/03/2026", "tomorrow", "2026-3-2"])
def test_date_refuses_invalid(value):
    assert errors_of([field("d", "date")], {"d": value}) == {"d": "应为日期 YYYY-MM-DD (must be a date)"}


# --------------------------------------------------------------------------- enum


def test_enum_accepts_a_declared_value():
    assert validate([field("e", "enum", options=("approve", "return"))], {"e": "return"}) == {"e": "return"}


@pytest.mark.parametrize("value", ["reject", "Approve", "同意"])
def test_enum_refuses_other_values(value):
    fields = [field("e", "enum", options=("approve", "return"))]
    assert errors_of(fields, {"e": value}) == {"e": "不是可选的值 (not one of the allowed values)"}


def test_dynamic_options_replace_the_declared_ones():
    fields = [field("dept", "enum", options=("a", "b"))]
    dynamic = {"dept": ["d_1", "d_2"]}
    assert validate(fields, {"dept": "d_2"}, dynamic_options=dynamic) == {"dept": "d_2"}
    assert errors_of(fields, {"dept": "a"}, dynamic_options=dynamic) == {
        "dept": "不是可选的值 (not one of the allowed values)"}


def test_dynamic_options_for_another_field_do_not_apply():
    fields = [field("e", "enum", options=("a",))]
    assert validate(fields, {"e": "a"}, dynamic_options={"other": ["z"]}) == {"e": "a"}


# --------------------------------------------------------------------------- whole form


def test_unknown_fields_are_refused_by_name():
    errors = errors_of([field("a")], {"a": "ok", "is_admin": "true", "x" * 300: "1"})
    assert errors == {"is_admin": NOT_A_FIELD, "x" * 100: NOT_A_FIELD}


def test_readonly_fields_are_ignored():
    fields = [field("case_no", readonly=None, required=None), field("a")]
    assert validate(fields, {"case_no": "forged", "a": "ok"}) == {"a": "ok"}
    assert validate(fields, {"a": "ok"}) == {"a": "ok"}


def test_every_bad_field_gets_its_own_message():
    fields = [field("summary", required=None, minlength="2"), field("pages", "long", max="10"),
              field("urgent", "boolean"), field("received", "date"), field("ok")]
    data = {"summary": "x", "pages": "11", "urgent": "perhaps", "received": "soon", "ok": "fine"}
    with pytest.raises(InvalidForm) as exc:
        validate(fields, data)
    assert exc.value.errors == {
        "summary": "至少 2 字 (at least 2 characters)", "pages": "不能大于 10 (at most 10)",
        "urgent": "应为是或否 (must be yes or no)", "received": "应为日期 YYYY-MM-DD (must be a date)"}
    assert exc.value.code == "invalid_form"
    assert "pages: 不能大于 10 (at most 10)" in str(exc.value)


def test_valid_form_returns_converted_values_only_for_its_fields():
    fields = [field("summary", required=None), field("pages", "long"), field("urgent", "boolean"),
              field("received", "date"), field("decision", "enum", options=("approve", "return"))]
    data = {"summary": " 材料 ", "pages": "7", "urgent": "on", "received": "2026-03-02", "decision": "approve"}
    assert validate(fields, data) == {"summary": "材料", "pages": 7, "urgent": True,
                                      "received": "2026-03-02", "decision": "approve"}


# --------------------------------------------------------------------------- definitions


def test_fields_from_extensions_reads_parser_output():
    extensions = {"form": [{"id": "decision", "label": "", "type": None, "default": "a",
                            "options": [{"id": "a", "name": None}], "validation": {"required": None},
                            "properties": {"rows": "3"}}]}
    (f,) = fields_from_extensions(extensions)
    assert f == FormField("decision", "decision", "string", "a", (Option("a", "a"),),
                          {"required": None}, {"rows": "3"})
    assert f.required and not f.readonly
    assert fields_from_extensions(None) == [] and fields_from_extensions({}) == []


def test_good_definition_has_no_problems():
    fields = [field("summary", required=None, minlength="2", maxlength="200"),
              field("pages", "long", min="1", max="500"), field("urgent", "boolean"),
              field("received", "date"), field("note", "textarea", readonly=None),
              field("decision", "enum", options=("a", "b")),
              field("dept", "enum", properties={"options": "departments"})]
    assert check_definition(fields) == []


@pytest.mark.parametrize("fields, problem", [
    ([field("x", "color")], "form field 'x' has unknown type 'color'"),
    ([field("x", "enum")], "enum field 'x' has no values"),
    ([field("x", minlength="two")], "constraint minlength of field 'x' needs a whole number, not 'two'"),
    ([field("x", "long", max="1.5")], "constraint max of field 'x' needs a whole number, not '1.5'"),
    ([field("x", "long", min=None)], "constraint min of field 'x' needs a whole number, not None"),
    ([field("x", pattern="[a-z]+")], "form field 'x' has unknown constraint 'pattern'"),
    ([field("x"), field("x", "long")], "form field 'x' appears twice"),
    ([field("first name")], "form field id 'first name' is not a valid identifier"),
    ([field("1st")], "form field id '1st' is not a valid identifier"),
    ([field("_secret")], "form field id '_secret' is not a valid identifier"),
    ([field("")], "form field id '' is not a valid identifier"),
])
def test_definition_problems(fields, problem):
    assert check_definition(fields) == [problem]


def test_definition_problems_are_all_reported():
    problems = check_definition([field("a b", "color"), field("e", "enum", maxlength="x")])
    assert problems == ["form field id 'a b' is not a valid identifier",
                        "form field 'a b' has unknown type 'color'",
                        "enum field 'e' has no values",
                        "constraint maxlength of field 'e' needs a whole number, not 'x'"]


@pytest.mark.parametrize("text", ["a\x00b", "bell\x07", "\ud800", "esc\x1b[31m"])
def test_control_characters_are_refused_per_field(text):
    from engine.forms import FormField, validate
    from engine.errors import InvalidForm
    with pytest.raises(InvalidForm) as info:
        validate([FormField("note", "备注")], {"note": text})
    assert "control characters" in info.value.errors["note"]


def test_tabs_newlines_and_unicode_text_are_kept():
    from engine.forms import FormField, validate
    text = "第一行\n\t缩进 ‏RTL mark e\u0301 🙂"
    assert validate([FormField("note", "备注")], {"note": text}) == {"note": text}


# -- a user task without camunda:formData: variables through the API (engine.forms.Variables) --------

def test_a_task_without_form_data_takes_plain_variables_within_limits():
    from engine.forms import Variables, fields_from_extensions, validate
    fields = fields_from_extensions({"form": [], "variables": True})
    assert isinstance(fields, Variables) and list(fields) == []
    data = {"reviewer": "mary", "amount": 3, "ok": True, "note": None, "items": [1, {"a": "b"}]}
    assert validate(fields, data) == data
    assert fields_from_extensions({"form": []}) == [] and not isinstance(fields_from_extensions({"form": []}),
                                                                         Variables)  # older versions


@pytest.mark.parametrize("data, key", [
    ({"_secret": 1}, "_secret"),
    ({"a-b": 1}, "a-b"),
    ({"workdays": 1}, "workdays"),  # would hide a diagram function
    ({"initiator": "admin"}, "initiator"),  # the engine's own: who started the case (assignees read it)
    ({"case_id": 1}, "case_id"),
    ({"x": "a" * 10_001}, "x"),
    ({"x": "a\x00b"}, "x"),
    ({"x": [[[[1]]]]}, "x"),
    ({"x": float("nan")}, "x"),
    ({"x": object()}, "x"),
    ({f"v{i}": i for i in range(51)}, "_"),
    ({"x": ["a" * 9_000] * 10}, "_"),  # 90 kB in all
])
def test_variables_beyond_the_limits_are_refused(data, key):
    from engine.errors import InvalidForm
    from engine.forms import Variables, validate
    with pytest.raises(InvalidForm) as refused:
        validate(Variables(), data)
    assert key in refused.value.errors


def test_a_task_with_form_data_still_refuses_unknown_fields():
    from engine.errors import InvalidForm
    from engine.forms import fields_from_extensions, validate
    fields = fields_from_extensions({"form": [{"id": "a", "type": "string"}], "variables": False})
    with pytest.raises(InvalidForm):
        validate(fields, {"a": "x", "b": "y"})
