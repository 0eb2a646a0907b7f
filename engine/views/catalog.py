"""Read models of the published data-resource catalog (arts. 7, 15, 24): only what the catalog
publishes, no drafts, no retired resources, no one's login."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ..domain import catalog

CHOICES = catalog.CHOICES  # field -> {value: label}, for the fields with a closed list of values


@dataclass(frozen=True)
class PublishedResource:
    """A resource of a live catalog: the catalog's fields by their names (``catalog.FIELDS`` but the
    status, which is always active here), its provider department and the catalog's version."""

    code: str
    name: str
    department_code: str
    department_name: str
    catalog_version: int
    published_at: datetime | None
    classification: str
    category: str
    summary: str
    format: str
    data_items: tuple[dict, ...]  # {"name", "type", "description"}
    update_frequency: str
    share_type: str
    share_conditions: str
    share_reason: str
    share_basis: str
    share_method: str
    usage_requirements: str
    materials: tuple[str, ...]
    open_type: str
    open_conditions: str
    open_reason: str


def published_catalog(engine, department: str | None = None) -> list[PublishedResource]:
    """Every active resource of the live catalogs, or of one department's (``NotFound`` for an
    unknown department), by department and code."""
    with engine.uow() as uow:
        return [_resource(e) for e in catalog.published_catalog(uow.session, department)]


def _resource(entry: catalog.CatalogEntry) -> PublishedResource:
    version = entry.version
    values = {name: getattr(entry, name) for name in catalog.FIELDS if name != "status"}
    values["data_items"] = tuple(values["data_items"])
    values["materials"] = tuple(values["materials"])
    return PublishedResource(**values, department_code=version.department.code,
                             department_name=version.department.name, catalog_version=version.number,
                             published_at=version.published_at)
