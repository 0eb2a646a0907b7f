"""``/api/v1/grants``: my department's grants (授权, arts. 14, 17): those it holds as the consumer,
or those it gave as the provider; active, expired or revoked. The provider department's clerks and
head and the data authority revoke a grant (``POST /api/v1/grants/{grant_id}/revoke``, art. 14)."""
from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from engine import grant_service
from engine.domain.grants import GRANT_STATUSES, effective_status
from engine.grant_service import GrantRow
from engine.uow import Actor

from ..context import govflow
from .auth import actor
from .blueprint import ApiBlueprint, Text, links
from .schemas import OPTIONAL, DepartmentSchema, PageQuerySchema, PageSchema

blp = ApiBlueprint("api_grants", __name__, url_prefix="/api/v1/grants",
                   description="本部门的授权：有效、已到期、已撤销 (my department's grants)")
SIDES = ("consumer", "provider")
GRANT_ID = "<int(min=1, max=2147483647):grant_id>"


class GrantQuerySchema(PageQuerySchema):
    side = fields.String(load_default="consumer", validate=validate.OneOf(SIDES), metadata={
        "description": "consumer: grants my department holds; provider: grants it gave"})
    status = fields.String(validate=validate.OneOf(tuple(GRANT_STATUSES)))


class GrantSchema(ma.Schema):
    id = fields.Integer(required=True)
    resource_code = fields.String(required=True)
    consumer = fields.Nested(DepartmentSchema, required=True)
    provider = fields.Nested(DepartmentSchema, required=True)
    data_items = fields.List(fields.String(), required=True)
    scenario = fields.String(required=True)
    valid_from = fields.Date(required=True)
    valid_until = fields.Date(required=True, metadata={"description": "last day of use (inclusive)"})
    usage_limits = fields.String(required=True)
    basis = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(tuple(GRANT_STATUSES)), metadata={
        "description": "active, expired (also an active grant past its last day) or revoked"})
    in_force = fields.Boolean(required=True, metadata={"description": "usable today"})
    approved_at = fields.DateTime(required=True)
    expired_at = fields.DateTime(**OPTIONAL)
    revoked_by = fields.String(**OPTIONAL, metadata={"description": "login of whoever revoked it"})
    revoked_at = fields.DateTime(**OPTIONAL)
    revocation_reason = fields.String(**OPTIONAL)
    revocation_basis = fields.String(**OPTIONAL, metadata={
        "description": "the term of use broken or the legal or policy basis (art. 14)"})
    expiry_notice_at = fields.DateTime(**OPTIONAL, metadata={
        "description": "when the consumer was told the grant ends soon (grant_expiry_notice_days working days before)"})
    case_id = fields.Integer(**OPTIONAL)
    renewable = fields.Boolean(required=True, metadata={
        "description": "the caller may apply to renew it (a share application pre-filled from it)"})
    revocable = fields.Boolean(required=True, metadata={"description": "the caller may revoke it"})


class RevokeSchema(ma.Schema):
    reason = Text(required=True, validate=validate.Length(min=1, max=grant_service.TEXT_MAX), metadata={
        "description": "撤销理由: why the grant is withdrawn"})
    basis = Text(required=True, validate=validate.Length(min=1, max=grant_service.TEXT_MAX), metadata={
        "description": "撤销依据: the term of use the consumer broke (e.g. passed the data to a third party, "
                       "art. 14 para. 2) or the legal or policy basis"})


class GrantListSchema(PageSchema):
    side = fields.String(required=True)
    department = fields.Nested(DepartmentSchema, required=True)
    items = fields.List(fields.Nested(GrantSchema), required=True)


@blp.route("")
@blp.doc(**links(200, first=("/api/v1/grants/{grant_id}", "get", {"grant_id": "$response.body#/items/0/id"})))
@blp.arguments(GrantQuerySchema, location="query")
@blp.response(200, GrantListSchema)
@blp.refusals(401)
def index(query):
    """List my department's grants, newest first."""
    who = actor()
    listing = grant_service.list_grants(govflow(), who, query["side"], query.get("status"), query["page"],
                                        query["per_page"])
    code, name = listing.department or (who.department or "", "")
    return {"side": listing.side, "department": {"code": code, "name": name}, "page": listing.page,
            "per_page": listing.per_page, "total": listing.total, "pages": listing.pages,
            "items": [_grant(g, listing.today, who) for g in listing.items]}


@blp.route(f"/{GRANT_ID}")
@blp.response(200, GrantSchema)
@blp.refusals(401, 403, 404)
def read(grant_id):
    """Read one grant my department holds or gave (the data authority reads any)."""
    who = actor()
    detail = grant_service.read_grant(govflow(), grant_id, who)
    return _grant(detail.grant, detail.today, who)


@blp.route(f"/{GRANT_ID}/revoke", methods=["POST"])
@blp.doc(**links(200, read=("/api/v1/grants/{grant_id}", "get", {"grant_id": "$response.body#/id"})))
@blp.arguments(RevokeSchema)
@blp.response(200, GrantSchema)
@blp.refusals(400, 401, 403, 404, 409, 413, 415, 422)
def revoke(body, grant_id):
    """Revoke an active grant (撤销授权, art. 14), with the reason and the basis.

    For a clerk or the head of the grant's provider department, or the data authority (403 for
    anyone else); 409 when the grant is already revoked (``already_done``) or expired
    (``conflict``). The consumer department's clerks are notified; the revocation is audited."""
    who = actor()
    grant_service.revoke_grant(govflow(), grant_id, who, body["reason"], body["basis"])
    detail = grant_service.read_grant(govflow(), grant_id, who)
    return _grant(detail.grant, detail.today, who)


def _grant(grant: GrantRow, today, who: Actor) -> dict:
    status = effective_status(grant, today)
    return {"id": grant.id, "resource_code": grant.resource_code,
            "consumer": {"code": grant.consumer.code, "name": grant.consumer.name},
            "provider": {"code": grant.provider.code, "name": grant.provider.name},
            "data_items": list(grant.data_items or []), "scenario": grant.scenario, "valid_from": grant.valid_from,
            "valid_until": grant.valid_until, "usage_limits": grant.usage_limits, "basis": grant.basis,
            "status": status, "in_force": grant.in_force(today), "approved_at": grant.approved_at,
            "expired_at": grant.expired_at, "revoked_by": grant.revoked_by, "revoked_at": grant.revoked_at,
            "revocation_reason": grant.revocation_reason, "revocation_basis": grant.revocation_basis,
            "expiry_notice_at": grant.expiry_notice_at, "case_id": grant.case_id,
            "renewable": status in ("active", "expired") and grant_service.may_renew(grant, who),
            "revocable": status == "active" and grant_service.may_revoke(grant, who)}
