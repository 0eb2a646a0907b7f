"""``/api/v1/grants``: my department's grants (授权, arts. 14, 17): those it holds as the consumer,
or those it gave as the provider; active, expired or revoked."""
from __future__ import annotations

from datetime import date

import marshmallow as ma
import sqlalchemy as sa
from marshmallow import fields, validate

from engine.calendar import BEIJING
from engine.domain.grants import GRANT_STATUSES, Grant
from engine.domain.org import Department
from engine.errors import NotFound, PermissionDenied
from engine.service import CASE_READERS
from engine.uow import Actor

from ..context import govflow
from .auth import actor
from .blueprint import ApiBlueprint, links
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
    revoked_at = fields.DateTime(**OPTIONAL)
    revocation_reason = fields.String(**OPTIONAL)
    case_id = fields.Integer(**OPTIONAL)


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
    engine, who = govflow(), actor()
    today = engine.clock.now().astimezone(BEIJING).date()
    column = Grant.consumer_department_id if query["side"] == "consumer" else Grant.provider_department_id
    with engine.uow() as uow:
        s = uow.session
        mine = s.scalars(sa.select(Department).where(Department.code == who.department)).one()
        where = [column == mine.id, *_status(query.get("status"), today)]
        total = s.scalar(sa.select(sa.func.count()).select_from(Grant).where(*where)) or 0
        rows = s.scalars(sa.select(Grant).where(*where).order_by(Grant.id.desc())
                         .limit(query["per_page"]).offset((query["page"] - 1) * query["per_page"]))
        return {"side": query["side"], "department": {"code": mine.code, "name": mine.name},
                "page": query["page"], "per_page": query["per_page"], "total": total,
                "pages": max(1, -(-total // query["per_page"])), "items": [_grant(g, today) for g in rows]}


@blp.route(f"/{GRANT_ID}")
@blp.response(200, GrantSchema)
@blp.refusals(401, 403, 404)
def read(grant_id):
    """Read one grant my department holds or gave (the data authority reads any)."""
    engine, who = govflow(), actor()
    with engine.uow() as uow:
        grant = uow.session.get(Grant, grant_id)
        if grant is None:
            raise NotFound("授权不存在 (no such grant)")
        if not _may_read(grant, who):
            raise PermissionDenied("此授权不属于本部门 (this grant is not your department's)")
        return _grant(grant, engine.clock.now().astimezone(BEIJING).date())


def _may_read(grant: Grant, who: Actor) -> bool:
    return bool(who.roles & CASE_READERS) or who.department in (grant.consumer.code, grant.provider.code)


def _status(status: str | None, today: date) -> list:
    lapsed = sa.and_(Grant.status == "active", Grant.valid_until < today)
    if status == "active":
        return [Grant.status == "active", Grant.valid_until >= today]
    if status == "expired":
        return [sa.or_(Grant.status == "expired", lapsed)]
    if status == "revoked":
        return [Grant.status == "revoked"]
    return []


def _grant(grant: Grant, today: date) -> dict:
    status = "expired" if grant.status == "active" and grant.valid_until < today else grant.status
    return {"id": grant.id, "resource_code": grant.resource_code,
            "consumer": {"code": grant.consumer.code, "name": grant.consumer.name},
            "provider": {"code": grant.provider.code, "name": grant.provider.name},
            "data_items": list(grant.data_items or []), "scenario": grant.scenario, "valid_from": grant.valid_from,
            "valid_until": grant.valid_until, "usage_limits": grant.usage_limits, "basis": grant.basis,
            "status": status, "in_force": grant.in_force(today), "approved_at": grant.approved_at,
            "expired_at": grant.expired_at, "revoked_at": grant.revoked_at,
            "revocation_reason": grant.revocation_reason, "case_id": grant.case_id}
