"""``/api/v1/tasks``: my inbox (待办 / 待签收 / 已办), one task with its form, claim (签收), unclaim,
complete with form data."""
from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from engine import inbox
from engine.views import tasks

from ..context import govflow
from . import reads
from .auth import actor
from .blueprint import ApiBlueprint, form_data, form_values, links
from .schemas import FormFieldSchema, PageQuerySchema, PageSchema, TaskSchema, form_fields, query_text

blp = ApiBlueprint("api_tasks", __name__, url_prefix="/api/v1/tasks",
                   description="待办：我的任务、待签收、已办；签收、退回、办理 (my tasks; claim, unclaim, complete)")
TABS = ("mine", "unclaimed", "done")
TASK_ID = "<uuid:task_id>"


class InboxQuerySchema(PageQuerySchema):
    tab = fields.String(load_default="mine", validate=validate.OneOf(TABS), metadata={
        "description": "mine: claimed by me (待办); unclaimed: offered to my roles (待签收); done: completed by me (已办)"})
    process_id = query_text(200)
    status = fields.String(validate=validate.OneOf(inbox.TASK_STATUSES))
    q = query_text(100, metadata={"description": "part of a case number or title"})


HISTORY_NOTE = f"the history tabs (started, done) count up to {inbox.COUNT_CAP + 1}: more means at least that many"


class TabCountsSchema(ma.Schema):
    mine = fields.Integer(required=True)
    unclaimed = fields.Integer(required=True)
    started = fields.Integer(required=True, metadata={"description": HISTORY_NOTE})
    done = fields.Integer(required=True, metadata={"description": HISTORY_NOTE})


class InboxSchema(PageSchema):
    tab = fields.String(required=True)
    more = fields.Boolean(required=True, metadata={
        "description": f"total is a lower bound: the tab holds more than {inbox.COUNT_CAP} entries"})
    counts = fields.Nested(TabCountsSchema, required=True)
    items = fields.List(fields.Nested(TaskSchema), required=True)


class TaskDetailSchema(TaskSchema):
    fields_ = fields.List(fields.Nested(FormFieldSchema), required=True, data_key="fields")
    data = fields.Dict(keys=fields.String(), values=fields.Raw(allow_none=True), required=True, metadata={
        "description": "current values of the form's fields (an open task)"})
    submitted = fields.Dict(keys=fields.String(), values=fields.Raw(allow_none=True), required=True,
                            allow_none=True, metadata={"description": "what was submitted (a completed task)"})


class CompleteSchema(ma.Schema):
    data = form_values("one value per form field: text, whole number, true/false, YYYY-MM-DD, an option id")


class CompletedSchema(ma.Schema):
    task_id = fields.String(required=True)
    case_id = fields.Integer(required=True)
    case_status = fields.String(required=True)
    case_outcome = fields.String(required=True, allow_none=True)
    next_tasks = fields.List(fields.Nested(TaskSchema), required=True, metadata={
        "description": "the case's open tasks now, each saying whether the caller may work it"})


@blp.route("")
@blp.doc(**links(200, first=("/api/v1/tasks/{task_id}", "get", {"task_id": "$response.body#/items/0/id"}),
                 claim_first=("/api/v1/tasks/{task_id}/claim", "post", {"task_id": "$response.body#/items/0/id"}),
                 case_of_first=("/api/v1/cases/{case_id}", "get", {"case_id": "$response.body#/items/0/case_id"})))
@blp.arguments(InboxQuerySchema, location="query")
@blp.response(200, InboxSchema)
@blp.refusals(401)
def inbox_page(query):
    """List my tasks: one tab, filtered, a page at a time."""
    who = actor()
    filters = inbox.Filters(process_id=query.get("process_id") or None, status=query.get("status"),
                            search=(query.get("q") or "").strip() or None,
                            sort="completed" if query["tab"] == "done" else "due")
    page = tasks.inbox_page(govflow(), who, query["tab"], filters, query["page"], query["per_page"]).page
    return {"tab": page.tab, "page": page.page, "per_page": page.per_page, "total": page.total,
            "pages": page.pages, "more": page.more, "counts": page.counts,
            "items": [reads.task_json(i, can_work=page.tab != "done") for i in page.items]}


@blp.route(f"/{TASK_ID}")
@blp.response(200, TaskDetailSchema)
@blp.refusals(401, 403, 404)
def read(task_id):
    """Read one task: its form's fields, their allowed values, and the current data."""
    return _detail(str(task_id))


@blp.route(f"/{TASK_ID}/claim", methods=["POST"])
@blp.doc(**links(200, complete=("/api/v1/tasks/{task_id}/complete", "post", {"task_id": "$response.body#/id"}),
                 unclaim=("/api/v1/tasks/{task_id}/unclaim", "post", {"task_id": "$response.body#/id"})))
@blp.response(200, TaskDetailSchema)
@blp.refusals(401, 403, 404, 409)
def claim(task_id):
    """Claim (签收) a task offered to one of my roles.

    409 when someone else claimed it first."""
    govflow().claim(str(task_id), actor())
    return _detail(str(task_id))


@blp.route(f"/{TASK_ID}/unclaim", methods=["POST"])
@blp.response(200, TaskSchema)
@blp.refusals(401, 403, 404, 409)
def unclaim(task_id):
    """Give my claimed task back to the shared inbox of its role."""
    govflow().unclaim(str(task_id), actor())
    return _released(str(task_id))


@blp.route(f"/{TASK_ID}/complete", methods=["POST"])
@blp.arguments(CompleteSchema)
@blp.response(200, CompletedSchema)
@blp.refusals(400, 401, 403, 404, 409, 413, 415, 422)
def complete(body, task_id):
    """Complete a task with its form data.

    422 with one message per field when the form is refused; 409 when it was completed already."""
    engine, who = govflow(), actor()
    reads.task(engine, str(task_id), who)  # no such task, not mine: 404, 403 before the form's 422
    case_id = engine.complete_task(str(task_id), who, form_data(body["data"]))
    case = reads.case(engine, case_id, who)
    return {"task_id": str(task_id), "case_id": case_id, "case_status": case["status"],
            "case_outcome": case["outcome"], "next_tasks": case["open_tasks"]}


def _detail(task_id: str) -> dict:
    found, detail = reads.task_detail(govflow(), task_id, actor())
    return {**found, "fields_": form_fields(detail.fields, detail.options)}


def _released(task_id: str) -> dict:
    """The task just given back (read without the check: the caller may not be among its candidates)."""
    return reads.task(govflow(), task_id, actor(), check=False)
