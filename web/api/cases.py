"""``/api/v1/cases``: start a case (发起), read a case with its open tasks and deadlines, read its
timeline (the audit records of everything that happened in it)."""
from __future__ import annotations

import marshmallow as ma
from flask import url_for
from marshmallow import fields, validate

from engine.errors import InvalidForm
from engine.views import modeler

from ..context import govflow
from . import reads
from .auth import actor
from .blueprint import ApiBlueprint, Text, form_data, form_values, links
from .schemas import OPTIONAL, CaseSummarySchema, TaskSchema

blp = ApiBlueprint("api_cases", __name__, url_prefix="/api/v1/cases",
                   description="案件：发起、查看、办理记录 (cases: start, read, timeline)")
CASE_ID = "<int(min=1, max=2147483647):case_id>"


class StartSchema(ma.Schema):
    process_id = Text(required=True, validate=validate.Length(min=1, max=200), metadata={
        "description": "the procedure, e.g. share_application (GET /api/v1/processes lists those you may start)"})
    data = form_values("the start form's values, one per field (GET /api/v1/processes/{process_id})")


class DeadlineSchema(ma.Schema):
    id = fields.String(required=True)
    kind = fields.String(required=True, metadata={"description": "overdue, reminder or timer"})
    element_id = fields.String(required=True)
    task_id = fields.String(**OPTIONAL)
    due_at = fields.DateTime(required=True)
    due_date = fields.Date(**OPTIONAL)
    provisional = fields.Boolean(required=True)
    held = fields.Boolean(required=True, metadata={"description": "provisional: waits for the holiday schedule"})
    state = fields.String(required=True, metadata={"description": "waiting, fired or cancelled"})
    fired_at = fields.DateTime(**OPTIONAL)


class PeriodSchema(ma.Schema):
    """A statutory period: one party's obligation under one article (docs/deadlines.md)."""

    name = fields.String(required=True, metadata={"description": "the procedure's name for the period"})
    seq = fields.Integer(required=True, metadata={"description": "1, or 2+ when it restarted (e.g. after 补正)"})
    title = fields.String(required=True)
    party = fields.String(required=True, metadata={"description": "department, authority, applicant or county_gov"})
    department = fields.String(**OPTIONAL)
    article = fields.String(required=True)
    rule = fields.String(required=True, metadata={"description": "the rule-set key of its length"})
    days = fields.Integer(required=True)
    start_date = fields.Date(required=True, metadata={"description": "day 0 (not counted)"})
    due_date = fields.Date(required=True, metadata={"description": "ends 24:00 Beijing time of this day"})
    provisional = fields.Boolean(required=True)
    state = fields.String(required=True, metadata={"description": "running, met or late"})
    overdue = fields.Boolean(required=True)
    reminded_at = fields.DateTime(**OPTIONAL)
    overdue_at = fields.DateTime(**OPTIONAL)
    closed_at = fields.DateTime(**OPTIONAL)
    supervision_id = fields.Integer(**OPTIONAL)


class CaseSchema(CaseSummarySchema):
    open_tasks = fields.List(fields.Nested(TaskSchema), required=True)
    deadlines = fields.List(fields.Nested(DeadlineSchema), required=True)
    periods = fields.List(fields.Nested(PeriodSchema), required=True)


class TimelineEntrySchema(ma.Schema):
    id = fields.Integer(required=True)
    at = fields.DateTime(required=True)
    actor = fields.String(required=True, metadata={"description": "login, or system:<job>, or public:<objector kind>"})
    actor_name = fields.String(**OPTIONAL)
    action = fields.String(required=True, metadata={"description": "e.g. case_started, task_completed"})
    task_id = fields.String(**OPTIONAL)
    task_name = fields.String(**OPTIONAL)
    summary = fields.Dict(keys=fields.String(), values=fields.Raw(allow_none=True), required=True)


class TimelineSchema(ma.Schema):
    case_id = fields.Integer(required=True)
    items = fields.List(fields.Nested(TimelineEntrySchema), required=True)


@blp.route("", methods=["POST"])
@blp.doc(**links(201, read=("/api/v1/cases/{case_id}", "get", {"case_id": "$response.body#/id"}),
                 timeline=("/api/v1/cases/{case_id}/timeline", "get", {"case_id": "$response.body#/id"}),
                 first_task=("/api/v1/tasks/{task_id}", "get", {"task_id": "$response.body#/open_tasks/0/id"}),
                 claim=("/api/v1/tasks/{task_id}/claim", "post", {"task_id": "$response.body#/open_tasks/0/id"})))
@blp.arguments(StartSchema)
@blp.response(201, CaseSchema, headers={"Location": {"description": "the new case", "schema": {"type": "string"}}})
@blp.refusals(400, 401, 403, 404, 409, 413, 415, 422)
def start(body):
    """Start a case of a procedure I may start.

    422 with one message per field for a refused start form; 403 for a procedure my roles may not start."""
    engine, who = govflow(), actor()
    case_id = engine.start_case(body["process_id"], who, _start_data(body["process_id"], body["data"]))
    return reads.case(engine, case_id, who), 201, {"Location": url_for("api_cases.read", case_id=case_id)}


def _start_data(process_id: str, data: dict) -> dict:
    """Only the start form's fields reach the case, as from the start page (a procedure without a
    start form takes none: nothing else may set its variables)."""
    form = modeler.start_form(govflow(), process_id, actor())  # not deployed: 404; not mine to start: 403
    data = form_data(data)
    unknown = sorted(set(data) - {f.id for f in form.fields})
    if unknown:
        raise InvalidForm({key[:100]: "不是此表单的字段 (not a field of this form)" for key in unknown})
    return data


@blp.route(f"/{CASE_ID}")
@blp.response(200, CaseSchema)
@blp.refusals(401, 403, 404)
def read(case_id):
    """Read a case: summary, status, outcome, open tasks and deadlines (as its page shows it)."""
    return reads.case(govflow(), case_id, actor())


@blp.route(f"/{CASE_ID}/timeline")
@blp.response(200, TimelineSchema)
@blp.refusals(401, 403, 404)
def timeline(case_id):
    """Read the case's timeline: its audit records, oldest first."""
    return {"case_id": case_id, "items": reads.timeline(govflow(), case_id, actor())}
