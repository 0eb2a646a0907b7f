"""``/api/v1/processes``: the procedures I may start, and each one's start form."""
from __future__ import annotations

import marshmallow as ma
from marshmallow import fields

from engine.errors import NotFound
from engine.views import modeler as views

from ..context import govflow
from .auth import actor
from .blueprint import UNSTORABLE, ApiBlueprint
from .schemas import FormFieldSchema, form_fields

blp = ApiBlueprint("api_processes", __name__, url_prefix="/api/v1/processes",
                   description="可发起的流程及其发起表单 (procedures I may start, and their start forms)")
PROCESS_ID = "<string(maxlength=200):process_id>"


class ProcessSchema(ma.Schema):
    process_id = fields.String(required=True)
    name = fields.String(required=True)
    version = fields.Integer(required=True)


class ProcessListSchema(ma.Schema):
    items = fields.List(fields.Nested(ProcessSchema), required=True)


class StartFormSchema(ProcessSchema):
    fields_ = fields.List(fields.Nested(FormFieldSchema), required=True, data_key="fields")


@blp.route("")
@blp.response(200, ProcessListSchema)
@blp.refusals(401)
def index():
    """List the deployed procedures I may start."""
    return {"items": [_process(d) for d in views.startable(govflow(), actor())]}


@blp.route(f"/{PROCESS_ID}")
@blp.response(200, StartFormSchema)
@blp.refusals(401, 403, 404)
def start_form(process_id):
    """Read a procedure's start form: the fields ``POST /api/v1/cases`` expects in ``data``."""
    if UNSTORABLE.search(process_id):  # no such process can be stored: do not ask the database
        raise NotFound(f"没有已部署的流程 {process_id} (no deployed process)")
    form = views.start_form(govflow(), process_id, actor())
    return {**_process(form.definition), "fields_": form_fields(form.fields, form.options)}


def _process(definition) -> dict:
    return {"process_id": definition.process_id, "name": definition.name or definition.process_id,
            "version": definition.version}
