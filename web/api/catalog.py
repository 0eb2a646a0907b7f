"""``/api/v1/catalog``: the published data-resource catalog (arts. 7, 15, 24), of every department or
one. Only what the catalog publishes: no drafts, no retired resources, no one's login."""
from __future__ import annotations

from dataclasses import asdict

import marshmallow as ma
from marshmallow import fields, validate

from engine.views import catalog

from ..context import govflow
from .blueprint import ApiBlueprint, Text
from .schemas import OPTIONAL, DepartmentSchema

blp = ApiBlueprint("api_catalog", __name__, url_prefix="/api/v1/catalog",
                   description="政务数据资源目录（已发布） (the published data-resource catalog)")


class CatalogQuerySchema(ma.Schema):
    department = Text(validate=validate.Length(min=1, max=40), metadata={
        "description": "a department's code: only its resources"})


class DataItemSchema(ma.Schema):
    name = fields.String(required=True)
    type = fields.String(required=True)
    description = fields.String(required=True)


def _choice(name: str) -> fields.String:
    return fields.String(required=True, metadata={"description": ", ".join(
        f"{key} ({label})" for key, label in catalog.CHOICES[name].items())})


class ResourceSchema(ma.Schema):
    code = fields.String(required=True)
    name = fields.String(required=True)
    department = fields.Nested(DepartmentSchema, required=True, metadata={"description": "the provider"})
    catalog_version = fields.Integer(required=True)
    published_at = fields.DateTime(**OPTIONAL)
    classification = _choice("classification")
    category = fields.String(required=True)
    summary = fields.String(required=True)
    format = _choice("format")
    data_items = fields.List(fields.Nested(DataItemSchema), required=True)
    update_frequency = _choice("update_frequency")
    share_type = _choice("share_type")
    share_conditions = fields.String(required=True)
    share_reason = fields.String(required=True)
    share_basis = fields.String(required=True)
    share_method = fields.String(required=True, metadata={"description": "interface, file, batch, or empty"})
    usage_requirements = fields.String(required=True)
    materials = fields.List(fields.String(), required=True)
    open_type = _choice("open_type")
    open_conditions = fields.String(required=True)
    open_reason = fields.String(required=True)


class CatalogSchema(ma.Schema):
    department = fields.String(**OPTIONAL, metadata={"description": "the department asked for, if any"})
    items = fields.List(fields.Nested(ResourceSchema), required=True)


@blp.route("")
@blp.arguments(CatalogQuerySchema, location="query")
@blp.response(200, CatalogSchema)
@blp.refusals(401, 404)
def index(query):
    """Read the published catalog, optionally of one department (404 for an unknown department)."""
    code = query.get("department")
    return {"department": code, "items": [_resource(e) for e in catalog.published_catalog(govflow(), code)]}


def _resource(entry: catalog.PublishedResource) -> dict:
    return {**asdict(entry), "department": {"code": entry.department_code, "name": entry.department_name}}
