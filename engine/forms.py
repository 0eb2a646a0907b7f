"""Task forms from ``camunda:formData``: definition and server-side validation."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Iterable, Mapping

from .errors import InvalidForm
from .messages import Message, msg

FIELD_TYPES = {"string", "long", "boolean", "date", "enum", "textarea"}
CONSTRAINTS = {"required", "readonly", "minlength", "maxlength", "min", "max"}


@dataclass(frozen=True)
class Option:
    id: str
    name: str


@dataclass(frozen=True)
class FormField:
    id: str
    label: str
    type: str = "string"
    default: str | None = None
    options: tuple[Option, ...] = ()
    validation: Mapping[str, str | None] = field(default_factory=dict)
    properties: Mapping[str, str] = field(default_factory=dict)

    @property
    def required(self) -> bool:
        return "required" in self.validation

    @property
    def readonly(self) -> bool:
        return "readonly" in self.validation

    @classmethod
    def from_dict(cls, dct: Mapping[str, Any]) -> "FormField":
        return cls(
            id=dct["id"], label=dct.get("label") or dct["id"], type=dct.get("type") or "string",
            default=dct.get("default"),
            options=tuple(Option(o["id"], o.get("name") or o["id"]) for o in dct.get("options", ())),
            validation=dict(dct.get("validation") or {}), properties=dict(dct.get("properties") or {}),
        )


class Variables(list):
    """The form of a user task without ``camunda:formData`` (deployed since it is read so): no fields
    to render, but, as in Camunda, the API may set case variables when completing it (``validate``
    checks them against ``VARIABLE_LIMITS``). The pages show no field for it, so only the API and
    the engine's callers can submit any."""


VARIABLE_LIMITS = {"count": 50, "name": 100, "depth": 3, "items": 200, "bytes": 64 * 1024}
# names the engine's own diagram functions take: task data may not hide them; and the variables the
# engine sets when a case starts (who started it, its number): a person may not rewrite them
RESERVED = frozenset({"rules", "workdays", "remind_before", "extend_deadline", "cycle", "period_due",
                      "period_reminder", "initiator", "initiator_department", "case_number", "case_id"})


def fields_from_extensions(extensions: Mapping[str, Any] | None) -> list[FormField]:
    fields = [FormField.from_dict(f) for f in (extensions or {}).get("form", [])]
    if not fields and (extensions or {}).get("variables"):
        return Variables()
    return fields


def check_definition(fields: Iterable[FormField]) -> list[str]:
    """Return problems with a form definition (deploy-time check)."""
    problems, seen = [], set()
    for f in fields:
        if not f.id or not f.id.isidentifier() or f.id.startswith("_"):
            problems.append(f"form field id {f.id!r} is not a valid identifier")
        if f.id in seen:
            problems.append(f"form field {f.id!r} appears twice")
        seen.add(f.id)
        if f.type not in FIELD_TYPES:
            problems.append(f"form field {f.id!r} has unknown type {f.type!r}")
        if f.type == "enum" and not f.options and "options" not in f.properties:
            problems.append(f"enum field {f.id!r} has no values")
        for name, config in f.validation.items():
            problems.extend(_check_constraint(f, name, config))
    return problems


def _check_constraint(f: FormField, name: str, config: str | None) -> list[str]:
    if name not in CONSTRAINTS:
        return [f"form field {f.id!r} has unknown constraint {name!r}"]
    if name in {"minlength", "maxlength", "min", "max"}:
        try:
            int(config)
        except (TypeError, ValueError):
            return [f"constraint {name} of field {f.id!r} needs a whole number, not {config!r}"]
    return []


def validate(fields: Iterable[FormField], data: Mapping[str, Any],
             dynamic_options: Mapping[str, Iterable[str]] | None = None,
             max_length: int = 10_000) -> dict[str, Any]:
    """Return the cleaned values, or raise InvalidForm with one message per bad field."""
    if isinstance(fields, Variables):
        return validate_variables(data, max_length)
    cleaned, errors = {}, {}
    for f in fields:
        if f.readonly:
            continue
        try:
            value = _clean(f, data.get(f.id), dynamic_options or {}, max_length)
        except ValueError as exc:
            errors[f.id] = exc.args[0] if exc.args and isinstance(exc.args[0], Message) else str(exc)
            continue
        if value is not None:
            cleaned[f.id] = value
    unknown = set(data) - {f.id for f in fields}
    for key in sorted(unknown):
        errors[str(key)[:100]] = msg("form.unknown_field", "not a field of this form")
    if errors:
        raise InvalidForm(errors)
    return cleaned


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value.strip() == "")


def _clean(f: FormField, value: Any, dynamic: Mapping[str, Iterable[str]], max_length: int) -> Any:
    if _blank(value):
        if f.required:
            raise ValueError(msg("form.required", "required"))
        return None
    converted = _CONVERTERS.get(f.type, _to_str)(f, value, dynamic)
    _apply_limits(f, converted, max_length)
    return converted


CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def _to_str(f: FormField, value: Any, _dynamic) -> str:
    if not isinstance(value, (str, int, float)) or isinstance(value, bool):
        raise ValueError(msg("form.not_text", "must be text"))
    text = str(value).strip()
    if CONTROL.search(text):  # NUL and friends: PostgreSQL refuses them, and no clerk types them
        raise ValueError(msg("form.control_characters", "contains control characters"))
    return text


def _to_long(f: FormField, value: Any, _dynamic) -> int:
    if isinstance(value, bool):
        raise ValueError(msg("form.not_integer", "must be a whole number"))
    if isinstance(value, int):
        return value
    try:
        return int(str(value).strip())
    except ValueError:
        raise ValueError(msg("form.not_integer", "must be a whole number")) from None


def _to_bool(f: FormField, value: Any, _dynamic) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"true", "on", "1", "yes", "是"}:
        return True
    if text in {"false", "off", "0", "no", "否"}:
        return False
    raise ValueError(msg("form.not_boolean", "must be yes or no"))


def _to_date(f: FormField, value: Any, _dynamic) -> str:
    try:
        return date.fromisoformat(str(value).strip()).isoformat()
    except ValueError:
        raise ValueError(msg("form.not_date", "must be a date")) from None


def _to_enum(f: FormField, value: Any, dynamic: Mapping[str, Iterable[str]]) -> str:
    allowed = set(dynamic[f.id]) if f.id in dynamic else {o.id for o in f.options}
    text = str(value).strip()
    if text not in allowed:
        raise ValueError(msg("form.not_an_option", "not one of the allowed values"))
    return text


_CONVERTERS = {"long": _to_long, "boolean": _to_bool, "date": _to_date, "enum": _to_enum}


def _apply_limits(f: FormField, value: Any, max_length: int) -> None:
    v = f.validation
    if isinstance(value, str):
        if len(value) > max_length:
            raise ValueError(msg("form.too_long", "too long: at most {max_length} characters", max_length=max_length))
        if "minlength" in v and len(value) < int(v["minlength"]):
            raise ValueError(msg("form.too_short", "at least {minlength} characters", minlength=v["minlength"]))
        if "maxlength" in v and len(value) > int(v["maxlength"]):
            raise ValueError(msg("form.above_maxlength", "at most {maxlength} characters", maxlength=v["maxlength"]))
    if isinstance(value, int) and not isinstance(value, bool):
        if "min" in v and value < int(v["min"]):
            raise ValueError(msg("form.below_min", "at least {min}", min=v["min"]))
        if "max" in v and value > int(v["max"]):
            raise ValueError(msg("form.above_max", "at most {max}", max=v["max"]))


def validate_variables(data: Mapping[str, Any], max_length: int = 10_000) -> dict[str, Any]:
    """Case variables set by completing a user task without a form (Camunda's ``complete`` with
    variables): names a diagram expression can read, plain JSON values (text, numbers, yes/no, null,
    lists and maps of them), within ``VARIABLE_LIMITS`` and ``max_length`` characters per text."""
    import json
    limits = VARIABLE_LIMITS
    errors: dict[str, Any] = {}
    if len(data) > limits["count"]:
        raise InvalidForm({"_": msg("form.too_many_variables", "at most {count} variables", count=limits["count"])})
    cleaned = {}
    for name, value in data.items():
        key = str(name)[:100]
        if (not isinstance(name, str) or not name.isidentifier() or name.startswith("_")
                or len(name) > limits["name"] or name in RESERVED):
            errors[key] = msg("form.bad_variable_name", "not a variable name a diagram can use")
            continue
        try:
            cleaned[name] = _plain(value, max_length, limits["depth"])
        except ValueError as exc:
            errors[key] = exc.args[0]
    if not errors and len(json.dumps(cleaned, ensure_ascii=False).encode("utf-8")) > limits["bytes"]:
        errors["_"] = msg("form.variables_too_large", "the variables are too large: at most {size} bytes",
                          size=limits["bytes"])
    if errors:
        raise InvalidForm(errors)
    return cleaned


def _plain(value: Any, max_length: int, depth: int) -> Any:
    if value is None or isinstance(value, (bool, int)):
        return value
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError(msg("form.not_a_number", "must be a finite number"))
        return value
    if isinstance(value, str):
        if len(value) > max_length:
            raise ValueError(msg("form.too_long", "too long: at most {max_length} characters", max_length=max_length))
        if CONTROL.search(value):
            raise ValueError(msg("form.control_characters", "contains control characters"))
        return value
    if depth <= 0:
        raise ValueError(msg("form.too_deep", "nested too deeply"))
    if isinstance(value, (list, tuple)):
        if len(value) > VARIABLE_LIMITS["items"]:
            raise ValueError(msg("form.too_many_items", "at most {items} items", items=VARIABLE_LIMITS["items"]))
        return [_plain(v, max_length, depth - 1) for v in value]
    if isinstance(value, dict):
        if len(value) > VARIABLE_LIMITS["items"] or not all(isinstance(k, str) and len(k) <= 100 for k in value):
            raise ValueError(msg("form.bad_map", "a map of at most {items} text keys", items=VARIABLE_LIMITS["items"]))
        return {k: _plain(v, max_length, depth - 1) for k, v in value.items()}
    raise ValueError(msg("form.not_plain", "must be text, a number, yes/no, a list or a map"))
