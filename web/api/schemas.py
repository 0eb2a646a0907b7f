"""Response schemas more than one resource returns: tasks, case summaries, form fields, departments.

Every field a response always carries is ``required`` (and ``allow_none`` where it may be null), so
the OpenAPI document says exactly what comes back."""
from __future__ import annotations

from typing import Any, Iterable, Mapping

import marshmallow as ma
from marshmallow import fields, validate

from engine.forms import FIELD_TYPES, FormField

from .blueprint import Text

OPTIONAL = {"required": True, "allow_none": True}  # always present, may be null


class DepartmentSchema(ma.Schema):
    code = fields.String(required=True)
    name = fields.String(required=True)


class OptionSchema(ma.Schema):
    id = fields.String(required=True)
    name = fields.String(required=True)


class FormFieldSchema(ma.Schema):
    """One field of a start or task form; the engine validates submitted values against it."""

    id = fields.String(required=True)
    label = fields.String(required=True)
    type = fields.String(required=True, validate=validate.OneOf(sorted(FIELD_TYPES)), metadata={
        "description": "string, textarea, long (whole number), boolean, date (YYYY-MM-DD), enum (one of options)"})
    required = fields.Boolean(required=True)
    readonly = fields.Boolean(required=True, metadata={"description": "shown, never submitted"})
    default = fields.String(**OPTIONAL)
    options = fields.List(fields.Nested(OptionSchema), required=True, metadata={
        "description": "the allowed values of an enum field (for this case and person)"})
    minlength = fields.Integer(**OPTIONAL)
    maxlength = fields.Integer(**OPTIONAL)
    min = fields.Integer(**OPTIONAL)
    max = fields.Integer(**OPTIONAL)


class TaskSchema(ma.Schema):
    id = fields.String(required=True)
    name = fields.String(required=True)
    element_id = fields.String(required=True)
    state = fields.String(required=True, metadata={"description": "ready, completed or cancelled"})
    case_id = fields.Integer(required=True)
    case_number = fields.String(**OPTIONAL)
    case_title = fields.String(required=True)
    process_id = fields.String(required=True)
    process_name = fields.String(required=True)
    role = fields.String(**OPTIONAL)
    department = fields.String(**OPTIONAL, metadata={"description": "code of the department the task belongs to"})
    assignee = fields.String(**OPTIONAL, metadata={"description": "login of whoever claimed it; null: unclaimed"})
    can_work = fields.Boolean(required=True, metadata={"description": "whether the caller may work (or claim) it"})
    created_at = fields.DateTime(required=True)
    due_at = fields.DateTime(**OPTIONAL)
    due_date = fields.Date(**OPTIONAL, metadata={"description": "last day of the period (ends 24:00 Beijing)"})
    provisional = fields.Boolean(required=True, metadata={
        "description": "due date computed before that year's holidays were published"})
    overdue = fields.Boolean(required=True)
    due_soon = fields.Boolean(required=True)
    remaining_days = fields.Integer(**OPTIONAL, metadata={"description": "working days left; negative when past"})
    completed_at = fields.DateTime(**OPTIONAL)
    completed_by = fields.String(**OPTIONAL)


class CaseSummarySchema(ma.Schema):
    id = fields.Integer(required=True)
    number = fields.String(**OPTIONAL)
    title = fields.String(required=True)
    process_id = fields.String(required=True)
    process_name = fields.String(required=True)
    status = fields.String(required=True, metadata={"description": "running or completed"})
    outcome = fields.String(**OPTIONAL)
    started_by = fields.String(required=True)
    started_at = fields.DateTime(required=True)
    ended_at = fields.DateTime(**OPTIONAL)
    rule_set = fields.String(**OPTIONAL)


class PageQuerySchema(ma.Schema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100_000))
    per_page = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))


class PageSchema(ma.Schema):
    page = fields.Integer(required=True)
    per_page = fields.Integer(required=True)
    total = fields.Integer(required=True)
    pages = fields.Integer(required=True)


def form_fields(fields_: Iterable[FormField], options: Mapping[str, list[tuple[str, str]]]) -> list[dict[str, Any]]:
    """The form's fields with their allowed values (case-dependent ones from ``options``)."""
    return [{"id": f.id, "label": f.label, "type": f.type, "required": f.required, "readonly": f.readonly,
             "default": f.default,
             "options": [{"id": i, "name": n} for i, n in options.get(f.id, [(o.id, o.name) for o in f.options])],
             **{k: _whole(f.validation.get(k)) for k in ("minlength", "maxlength", "min", "max")}}
            for f in fields_]


def _whole(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def query_text(maximum: int, **kwargs) -> Text:
    return Text(validate=validate.Length(max=maximum), **kwargs)
