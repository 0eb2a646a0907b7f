"""``/api/v1/objections``: anyone may object to a data record (复核, art. 18) without an account, and
follow it with the receipt code the answer gives. Never shows who objected or how to reach them.

Both endpoints are public and rate-limited per client address (engine.domain.throttle, the limits the
public pages share); the case is started by the same actor as from the public page
(``public:<objector kind>``). A platform that files objections for many people uses ``POST /api/v1/cases``
(``data_review``) with its own token instead.
"""
from __future__ import annotations

import re

import marshmallow as ma
import sqlalchemy as sa
from flask import url_for
from marshmallow import fields, validate

from engine.domain import throttle
from engine.domain.catalog import CatalogEntry
from engine.domain.objections import OBJECTION_STATUSES, OBJECTOR_KINDS, OUTCOMES, RECEIPT_LENGTH, Objection
from engine.errors import NotFound
from engine.models import HumanTask

from ..context import client_ip, govflow
from ..public import KINDS, public_actor
from .blueprint import PUBLIC_DOC, ApiBlueprint, Text, links
from .schemas import OPTIONAL, DepartmentSchema

blp = ApiBlueprint("api_objections", __name__, url_prefix="/api/v1/objections", public=True,
                   description="公众复核申请及按回执码查询（无需令牌） (public objections and their receipt codes)")
PROCESS_ID = "data_review"
PUBLIC_KINDS = KINDS  # as on the public page; a department objects with its token (POST /api/v1/cases)
RECEIPT = "<string(maxlength=40):receipt_code>"
RECEIPT_SHAPE = re.compile(rf"^[A-Z0-9]{{{RECEIPT_LENGTH}}}$")
NO_RECEIPT = "没有与此回执码对应的复核申请 (no objection with this receipt code)"


def _text(maximum: int, minimum: int = 0, **kwargs) -> Text:
    return Text(validate=validate.Length(min=minimum, max=maximum), **kwargs)


class ObjectionRequestSchema(ma.Schema):
    """The start form of ``data_review`` (workflows/data_review.py START_FORM) for the public."""

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
    engine = govflow()
    _limit("objection_form", count=True)  # every submission, valid or not
    _limit("objection")  # objections received
    case_id = engine.start_case(PROCESS_ID, public_actor(body["objector_kind"]), body)
    _limit("objection", count=True, check=False)
    with engine.uow() as uow:
        found = uow.session.scalars(sa.select(Objection).where(Objection.case_id == case_id)).one()
        status = _status(uow.session, found)
    return status, 201, {"Location": url_for("api_objections.read", receipt_code=found.receipt_code)}


@blp.route(f"/{RECEIPT}")
@blp.doc(**PUBLIC_DOC)
@blp.response(200, ObjectionStatusSchema)
@blp.refusals(404, 429)
def read(receipt_code):
    """Follow an objection by its receipt code: status, due date, outcome and answer."""
    _limit("lookup", count=True)
    code = re.sub(r"[\s-]", "", receipt_code).upper()
    if not RECEIPT_SHAPE.match(code):
        raise NotFound(NO_RECEIPT)
    with govflow().uow() as uow:
        found = uow.session.scalars(sa.select(Objection).where(Objection.receipt_code == code)).first()
        if found is None:
            raise NotFound(NO_RECEIPT)
        return _status(uow.session, found)


def _limit(kind: str, count: bool = False, check: bool = True) -> None:
    """429 once this address's window for ``kind`` is full; optionally count this request (the
    public pages' limits, web/public.py: a person and the API share them)."""
    engine = govflow()
    with engine.uow() as uow:
        if check:
            throttle.check(uow.session, kind, client_ip(), engine.clock.now())
        if count:
            throttle.record(uow.session, kind, client_ip(), engine.clock.now())
            uow.commit()


def _status(session, objection: Objection) -> dict:
    due = session.scalar(sa.select(HumanTask.due_date).where(
        HumanTask.case_id == objection.case_id, HumanTask.element_id == "verify_answer",
        HumanTask.state == "ready")) if objection.case_id is not None else None
    name = session.scalar(sa.select(CatalogEntry.name).where(CatalogEntry.code == objection.resource_code)
                          .order_by(CatalogEntry.id.desc()).limit(1))
    return {"receipt_code": objection.receipt_code, "status": objection.status,
            "status_name": OBJECTION_STATUSES.get(objection.status, objection.status),
            "resource_code": objection.resource_code, "resource_name": name,
            "provider": {"code": objection.provider.code, "name": objection.provider.name},
            "record_ref": objection.record_ref, "received_at": objection.received_at, "due_date": due,
            "extension_days": objection.extension_days if objection.extension_approved else None,
            "outcome": objection.outcome, "outcome_name": OUTCOMES.get(objection.outcome) if objection.outcome else None,
            "answer": objection.answer, "correction": objection.correction, "answered_at": objection.answered_at}
