"""Task and start forms in HTML: widgets from the engine's ``FormField`` list, and parsing them back.

The HTML attributes (required, minlength, min, ...) help the browser; the engine validates again
and its messages (``InvalidForm.errors``) are shown next to the fields.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from werkzeug.datastructures import MultiDict

from engine.forms import FormField

from .i18n import localise

WIDGETS = {"string": "input", "textarea": "textarea", "long": "number", "boolean": "checkbox",
           "date": "date", "enum": "select"}
TRUE = {"true", "on", "1", "yes"}


@dataclass(frozen=True)
class Widget:
    field: FormField
    kind: str
    value: str
    attrs: dict[str, Any] = field(default_factory=dict)
    options: list[tuple[str, str]] = field(default_factory=list)
    error: str | None = None

    @property
    def checked(self) -> bool:
        return self.value.lower() in TRUE


def widgets(fields: Iterable[FormField], values: Mapping[str, Any],
            options: Mapping[str, list[tuple[str, str]]] | None = None,
            errors: Mapping[str, str] | None = None) -> list[Widget]:
    """One widget per field, holding the value to show (entered, saved, or the default)."""
    options, errors = options or {}, errors or {}
    result = []
    for f in fields:
        value = values.get(f.id, f.default)
        result.append(Widget(f, WIDGETS.get(f.type, "input"), _text(value), _attrs(f),
                             list(options.get(f.id) or [(o.id, o.name) for o in f.options]),
                             localise(errors[f.id]) if f.id in errors else None))
    return result


def form_errors(fields: Iterable[FormField], errors: Mapping[str, str]) -> list[str]:
    """Errors that belong to no field of the form (shown above it)."""
    ids = {f.id for f in fields}
    return [f"{key}: {localise(text)}" for key, text in errors.items() if key not in ids]


def parse(fields: Iterable[FormField], form: MultiDict) -> dict[str, str]:
    """The submitted values of the form's own fields; an unticked checkbox means ``false``."""
    data = {}
    for f in fields:
        if f.readonly:
            continue
        if f.type == "boolean":
            data[f.id] = "true" if form.get(f.id, "").lower() in TRUE else "false"
        elif f.id in form:
            data[f.id] = form[f.id]
    return data


def entered(fields: Iterable[FormField], form: MultiDict, current: Mapping[str, Any] | None = None) -> dict:
    """What the person typed, to show again next to the error messages; read-only fields are never
    posted (disabled inputs), so they keep their ``current`` values."""
    current = current or {}
    return {f.id: current.get(f.id, "") if f.readonly else form.get(f.id, "") for f in fields}


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _attrs(f: FormField) -> dict[str, Any]:
    v = f.validation
    attrs: dict[str, Any] = {}
    if f.required and f.type != "boolean":
        attrs["required"] = True
    if f.readonly:
        attrs["disabled"] = True
    if f.type in ("string", "textarea"):
        attrs.update({k: v[k] for k in ("minlength", "maxlength") if v.get(k) is not None})
    if f.type == "long":
        attrs.update({k: v[k] for k in ("min", "max") if v.get(k) is not None})
        attrs["step"] = 1
    return attrs
