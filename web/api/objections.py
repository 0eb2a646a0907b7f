"""``/api/v1/objections``: anyone may object to a data record (复核, art. 18) without an account, and
follow it with the receipt code the answer gives. Never shows who objected or how to reach them.

Both endpoints are public and rate-limited per client address (engine.verbs.objections, the limits
the public pages share); the case is started by the same actor as from the public page
(``public:<objector kind>``). A platform that files objections for many people uses ``POST /api/v1/cases``
(``data_review``) with its own token instead.
"""
from __future__ import annotations

import marshmallow as ma
from flask import url_for
from marshmallow import fields, validate

from engine.verbs import objections
from engine.views.public import (OBJECTION_STATUSES, OBJECTOR_KINDS, OUTCOMES, PUBLIC_KINDS, ObjectionStatus,
                                 public_actor)

from ..context import client_ip, govflow
from .blueprint import PUBLIC_DOC, ApiBlueprint, Text, links
from .schemas import OPTIONAL, DepartmentSchema

blp = ApiBlueprint("api_objections", __name__, url_prefix="/api/v1/objections", public=True,
                   description="公众复核申请及按回执码查询（无需令牌） (public objections and their receipt codes)")
RECEIPT = "<string(maxlength=40):receipt_code>"


def _text(maximum: int, minimum: int = 0, **kwargs) -> Text:
    return Text(validate=validate.Length(min=minimum, max=maximum), **kwargs)


class ObjectionRequestSchema(ma.Schema):
    """The start form of ``data_review`` (workflows/data_review/glue.py START_FORM) for the public."""

    objector_kind = fields.String(required=True, validate=validate.OneOf(PUBLIC_KINDS), metadata={
        "description": ", ".join(f"{k} ({OBJECTOR_KINDS[k]})" for k in PUBLIC_KINDS)})
    objector_name = _text(200, 1, required=True)
    contact_phone = _text(50, metadata={"description": "a phone number or an e-mail address is required"})
    contact_email = _text(200)
    resource = _text(60, 1, required=True, metadata={"description": "the resource's code in the published catalog"})
    record_ref = _text(500, 1, required=True, metadata={"description": "which data record is in doubt"})
    description = _text(5000, 1, required=True, metadata={"description": "what is wrong with it"})
    evidence = _text(5000, metadata={"description": "the evidence the objector can show"})


class ObjectionStatusSchema(ma.Schema):
    receipt_code = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(tuple(OBJECTION_STATUSES)), metadata={
        "description": ", ".join(f"{k} ({v})" for k, v in OBJECTION_STATUSES.items())})
    status_name = fields.String(required=True)
    resource_code = fields.String(required=True)
    resource_name = fields.String(**OPTIONAL)
    provider = fields.Nested(DepartmentSchema, required=True)
    record_ref = fields.String(required=True)
    received_at = fields.DateTime(required=True)
    due_date = fields.Date(**OPTIONAL, metadata={"description": "the answer is due by this day (while received)"})
    extension_days = fields.Integer(**OPTIONAL, metadata={"description": "working days the period was extended by"})
    outcome = fields.String(**OPTIONAL, metadata={
        "description": ", ".join(f"{k} ({v})" for k, v in OUTCOMES.items())})
    outcome_name = fields.String(**OPTIONAL)
    answer = fields.String(**OPTIONAL)
    correction = fields.String(**OPTIONAL)
    answered_at = fields.DateTime(**OPTIONAL)


@blp.route("", methods=["POST"])
@blp.doc(**PUBLIC_DOC, **links(201, follow=("/api/v1/objections/{receipt_code}", "get",
                                            {"receipt_code": "$response.body#/receipt_code"})))
@blp.arguments(ObjectionRequestSchema)
@blp.response(201, ObjectionStatusSchema,
              headers={"Location": {"description": "where to follow it", "schema": {"type": "string"}}})
@blp.refusals(400, 404, 413, 415, 422, 429)
def submit(body):
    """Raise an objection to a record of the published catalog (no token needed).

    The answer carries the receipt code to follow it with: keep it, it is the only way to read the answer."""
    received = objections.submit_objection(govflow(), public_actor(body["objector_kind"]), client_ip(), body)
    return _status(received), 201, {"Location": url_for("api_objections.read", receipt_code=received.receipt_code)}


@blp.route(f"/{RECEIPT}")
@blp.doc(**PUBLIC_DOC)
@blp.response(200, ObjectionStatusSchema)
@blp.refusals(404, 429)
def read(receipt_code):
    """Follow an objection by its receipt code: status, due date, outcome and answer."""
    return _status(objections.look_up_objection(govflow(), client_ip(), receipt_code))



def _status(found: ObjectionStatus) -> dict:
    return {"receipt_code": found.receipt_code, "status": found.status,
            "status_name": OBJECTION_STATUSES.get(found.status, found.status),
            "resource_code": found.resource_code, "resource_name": found.resource_name or None,
            "provider": {"code": found.provider_code, "name": found.provider},
            "record_ref": found.record_ref, "received_at": found.received_at, "due_date": found.due_date,
            "extension_days": found.extension_days if found.extension_approved else None,
            "outcome": found.outcome, "outcome_name": OUTCOMES.get(found.outcome) if found.outcome else None,
            "answer": found.answer, "correction": found.correction, "answered_at": found.answered_at}
