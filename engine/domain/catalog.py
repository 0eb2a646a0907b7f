"""Data-resource catalog (arts. 7, 12, 15, 16, 24): per-department versions, drafts and their diff.

Edits happen in a department's draft; publishing makes it the live version and keeps the old ones
(superseded), so any two versions can be compared. Every change goes through a unit of work and is
audited; ``validate_entry`` is the one validation the web forms and the Excel import share.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Mapping, NamedTuple

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from .. import audit
from ..errors import GovflowError, InvalidForm, NotFound
from ..messages import Message, msg
from ..models import Base, UTCDateTime
from ..uow import Actor, UnitOfWork
from .org import Department, department_by_code

CLASSIFICATIONS = {"base": "基础库", "theme": "主题库", "department": "部门库"}  # art. 12
FORMATS = {"database": "数据库表", "document": "电子文件", "spreadsheet": "电子表格", "image": "图形图像",
           "media": "音视频", "spatial": "空间地理数据", "other": "其他"}
FREQUENCIES = {"realtime": "实时", "daily": "每日", "weekly": "每周", "monthly": "每月",
               "quarterly": "每季度", "yearly": "每年", "irregular": "不定期"}
SHARE_TYPES = {"unconditional": "无条件共享", "conditional": "有条件共享", "none": "不予共享"}  # art. 15
SHARE_METHODS = {"interface": "接口", "file": "文件", "batch": "批量交换"}
OPEN_TYPES = {"open": "无条件开放", "conditional": "有条件开放", "closed": "非开放"}  # art. 24
STATUSES = {"active": "在用", "retired": "停用"}
SHAREABLE = ("unconditional", "conditional")
CATALOG_LOCK_KEY = 7_290_007  # pg advisory lock serialising publications ("art. 7")


class Field(NamedTuple):
    zh: str  # the column title of the Excel sheet (data: the template's words)
    label: Message  # the field's name in messages
    max_length: int = 2000
    multiline: bool = True

    @property
    def en(self) -> str:
        return self.label.text


# The art. 7 contents of one resource, in display (and Excel column) order.
FIELDS: dict[str, Field] = {
    "code": Field("资源代码", msg("label.resource_code", "resource code"), 60, False),
    "name": Field("资源名称", msg("label.resource_name", "resource name"), 200, False),
    "classification": Field("资源分类", msg("label.resource_classification", "resource classification"), 20, False),
    "category": Field("类目", msg("label.resource_category", "resource category"), 100, False),
    "summary": Field("资源摘要", msg("label.resource_summary", "resource summary")),
    "format": Field("资源格式", msg("label.resource_format", "resource format"), 20, False),
    "data_items": Field("信息项", msg("label.information_items", "information items")),
    "update_frequency": Field("更新周期", msg("label.update_frequency", "update frequency"), 20, False),
    "share_type": Field("共享类型", msg("label.share_type", "share type"), 20, False),
    "share_conditions": Field("共享条件", msg("label.share_conditions", "share conditions")),
    "share_reason": Field("有条件/不予共享理由", msg("label.share_reason", "reason for conditional or no sharing")),
    "share_basis": Field("有条件/不予共享依据", msg("label.share_basis", "legal or policy basis")),
    "share_method": Field("共享方式", msg("label.share_method", "share method"), 20, False),
    "usage_requirements": Field("使用要求", msg("label.usage_requirements", "usage requirements")),
    "materials": Field("申请材料", msg("label.materials", "materials an applicant provides")),
    "open_type": Field("开放属性", msg("label.open_type", "open attribute"), 20, False),
    "open_conditions": Field("开放条件", msg("label.open_conditions", "open conditions")),
    "open_reason": Field("非开放理由", msg("label.open_reason", "reason not open")),
    "status": Field("状态", msg("label.resource_status", "resource status"), 20, False),
}
CHOICES = {"classification": CLASSIFICATIONS, "format": FORMATS, "update_frequency": FREQUENCIES,
           "share_type": SHARE_TYPES, "share_method": SHARE_METHODS, "open_type": OPEN_TYPES,
           "status": STATUSES}
ALWAYS_REQUIRED = ("code", "name", "classification", "category", "summary", "format", "data_items",
                   "update_frequency", "share_type", "open_type", "status")
CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
ITEM_SEPARATOR = re.compile(r"[|｜]")
MAX_ITEMS, MAX_MATERIALS = 500, 100


class CatalogVersion(Base):
    """One department's catalog: its open draft, its published (live) version or a superseded one."""

    __tablename__ = "catalog_version"
    __table_args__ = (
        sa.UniqueConstraint("department_id", "number", name="department_number"),
        # At most one open draft and one live version per department, even under concurrent writers.
        sa.Index("uq_catalog_version_one_draft", "department_id", unique=True,
                 sqlite_where=sa.text("status = 'draft'"), postgresql_where=sa.text("status = 'draft'")),
        sa.Index("uq_catalog_version_one_published", "department_id", unique=True,
                 sqlite_where=sa.text("status = 'published'"),
                 postgresql_where=sa.text("status = 'published'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    department_id: Mapped[int] = mapped_column(sa.ForeignKey("department.id"), index=True)
    number: Mapped[int | None]  # 1, 2, … once published; None while a draft
    status: Mapped[str] = mapped_column(sa.String(20), default="draft")  # draft/published/superseded
    based_on_id: Mapped[int | None] = mapped_column(sa.ForeignKey("catalog_version.id"))
    basis: Mapped[str] = mapped_column(sa.Text, default="")  # art. 9: the change basis
    case_id: Mapped[int | None]  # the catalog-change case that published it, if any
    created_by: Mapped[str] = mapped_column(sa.String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    published_by: Mapped[str | None] = mapped_column(sa.String(200))
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    department: Mapped[Department] = relationship(lazy="joined", innerjoin=True)

    @property
    def label(self) -> str:
        if self.number is None:
            return msg("catalog.draft_label", "draft")
        return msg("catalog.version_label", "version {number}", number=self.number)


class CatalogEntry(Base):
    """One resource of one catalog version, with every art. 7 field."""

    __tablename__ = "catalog_entry"
    __table_args__ = (sa.UniqueConstraint("catalog_version_id", "code", name="version_code"),
                      sa.Index("ix_catalog_entry_code", "code"))

    id: Mapped[int] = mapped_column(primary_key=True)
    catalog_version_id: Mapped[int] = mapped_column(
        sa.ForeignKey("catalog_version.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(sa.String(60))
    name: Mapped[str] = mapped_column(sa.String(200))
    classification: Mapped[str] = mapped_column(sa.String(20))
    category: Mapped[str] = mapped_column(sa.String(100))
    summary: Mapped[str] = mapped_column(sa.Text)
    format: Mapped[str] = mapped_column(sa.String(20))
    data_items_json: Mapped[str] = mapped_column("data_items", sa.Text, default="[]")
    update_frequency: Mapped[str] = mapped_column(sa.String(20))
    share_type: Mapped[str] = mapped_column(sa.String(20))
    share_conditions: Mapped[str] = mapped_column(sa.Text, default="")
    share_reason: Mapped[str] = mapped_column(sa.Text, default="")
    share_basis: Mapped[str] = mapped_column(sa.Text, default="")
    share_method: Mapped[str] = mapped_column(sa.String(20), default="")
    usage_requirements: Mapped[str] = mapped_column(sa.Text, default="")
    materials_json: Mapped[str] = mapped_column("materials", sa.Text, default="[]")
    open_type: Mapped[str] = mapped_column(sa.String(20))
    open_conditions: Mapped[str] = mapped_column(sa.Text, default="")
    open_reason: Mapped[str] = mapped_column(sa.Text, default="")
    status: Mapped[str] = mapped_column(sa.String(20), default="active")
    updated_by: Mapped[str] = mapped_column(sa.String(200))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    version: Mapped[CatalogVersion] = relationship(lazy="joined", innerjoin=True)

    @property
    def data_items(self) -> list[dict[str, str]]:
        return json.loads(self.data_items_json or "[]")

    @data_items.setter
    def data_items(self, items: list[dict[str, str]]) -> None:
        self.data_items_json = json.dumps(items, ensure_ascii=False)

    @property
    def materials(self) -> list[str]:
        return json.loads(self.materials_json or "[]")

    @materials.setter
    def materials(self, materials: list[str]) -> None:
        self.materials_json = json.dumps(materials, ensure_ascii=False)

    @property
    def department(self) -> Department:
        return self.version.department

    def data(self) -> dict[str, Any]:
        """The fields as plain values (the shape ``validate_entry`` and ``upsert_entry`` take)."""
        return {name: getattr(self, name) for name in FIELDS}

    def assign(self, values: Mapping[str, Any], actor: str, now: datetime) -> None:
        for name in FIELDS:
            setattr(self, name, values[name])
        self.updated_by, self.updated_at = actor, now


# -- validation (shared with the web forms and the Excel import) ----------------------------------

def label_of(field: str, key: str) -> str:
    """The Chinese label of a choice key (e.g. share_type ``conditional`` → 有条件共享)."""
    return CHOICES[field].get(key, key)


def items_from_text(text: str) -> list[dict[str, str]]:
    """Parse data items written one a line as ``字段名|类型|说明``."""
    items = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        parts = [p.strip() for p in ITEM_SEPARATOR.split(line, maxsplit=2)]
        if len(parts) < 2:
            raise ValueError(msg("catalog.item_line", "data items, line {line}: write name|type|description",
                                 line=number))
        items.append({"name": parts[0], "type": parts[1], "description": parts[2] if len(parts) > 2 else ""})
    return items


def items_to_text(items: list[dict[str, str]]) -> str:
    return "\n".join(f"{i['name']}|{i['type']}|{i['description']}" if i["description"]
                     else f"{i['name']}|{i['type']}" for i in items)


def materials_from_text(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def materials_to_text(materials: list[str]) -> str:
    return "\n".join(materials)


def validate_entry(data: Mapping[str, Any]) -> dict[str, str]:
    """Field → message for everything wrong with one resource (empty when it is valid)."""
    return clean_entry(data)[1]


def clean_entry(data: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """Normalised values (choice labels become keys, texts are stripped) and the errors found."""
    values, errors = {}, {}
    for name in FIELDS:
        try:
            values[name] = _clean_value(name, data.get(name))
        except ValueError as exc:
            values[name], errors[name] = None, exc.args[0] if exc.args else str(exc)
    for name, message in _rule_errors(values).items():
        errors.setdefault(name, message)
    return values, errors


def _clean_value(name: str, value: Any) -> Any:
    if name == "data_items":
        return _clean_items(items_from_text(value) if isinstance(value, str) else value or [])
    if name == "materials":
        return _clean_materials(materials_from_text(value) if isinstance(value, str) else value or [])
    text = _clean_text(value, FIELDS[name])
    if name in CHOICES:
        return _clean_choice(name, text)
    return text


def _clean_text(value: Any, spec: Field) -> str:
    text = "" if value is None else str(value).replace("\r\n", "\n").strip()
    if CONTROL.search(text) or (not spec.multiline and "\n" in text):
        raise ValueError(msg("catalog.control_characters", "{label} contains line breaks or control characters",
                             label=spec.label))
    if len(text) > spec.max_length:
        raise ValueError(msg("catalog.too_long", "{label}: at most {max_length} characters", label=spec.label,
                             max_length=spec.max_length))
    return text


def _clean_choice(name: str, text: str) -> str:
    choices = CHOICES[name]
    if not text:
        return "active" if name == "status" else ""
    if text in choices:
        return text
    for key, label in choices.items():
        if text == label:
            return key
    spec = FIELDS[name]
    raise ValueError(msg("catalog.not_a_choice", "{label} must be one of {keys}", label=spec.label, value=text,
                         keys=", ".join(choices), names="、".join(choices.values())))


def _clean_items(raw: list) -> list[dict[str, str]]:
    if not isinstance(raw, (list, tuple)) or len(raw) > MAX_ITEMS:
        raise ValueError(msg("catalog.too_many_items", "data items: a list of at most {max_items}",
                             max_items=MAX_ITEMS))
    items, seen = [], set()
    for number, item in enumerate(raw, 1):
        if isinstance(item, Mapping):
            parts = [item.get("name"), item.get("type"), item.get("description")]
        else:
            parts = (list(item) + [None, None, None])[:3] if isinstance(item, (list, tuple)) else [item, None, None]
        name, kind, description = (_item_text(p, number, 100 if i < 2 else 500) for i, p in enumerate(parts))
        if not name or not kind:
            raise ValueError(msg("catalog.item_incomplete", "data item {number} needs a name and a type",
                                 number=number))
        if ITEM_SEPARATOR.search(name + kind) or name in seen:
            raise ValueError(msg("catalog.item_repeated", "data item {number} is repeated or contains |", number=number,
                                 name=name))
        seen.add(name)
        items.append({"name": name, "type": kind, "description": description})
    return items


def _item_text(value: Any, number: int, limit: int) -> str:
    text = "" if value is None else str(value).strip()
    if "\n" in text or "\r" in text or CONTROL.search(text) or len(text) > limit:
        raise ValueError(msg("catalog.item_text", "data item {number}: line breaks, control characters or over {limit} "
                                                  "characters", number=number, limit=limit))
    return text


def _clean_materials(raw: list) -> list[str]:
    if not isinstance(raw, (list, tuple)) or len(raw) > MAX_MATERIALS:
        raise ValueError(msg("catalog.too_many_materials", "materials: a list of at most {max_materials}",
                             max_materials=MAX_MATERIALS))
    material = FIELDS["materials"]._replace(max_length=200, multiline=False)
    materials = [_clean_text(m, material) for m in raw]
    return [m for m in materials if m]


def _rule_errors(v: Mapping[str, Any]) -> dict[str, str]:
    errors = {name: _required(name) for name in ALWAYS_REQUIRED if v[name] in ("", [])}
    if v["code"] and not CODE.match(v["code"]):
        errors["code"] = msg("catalog.bad_code", "code: letters, digits, - _ . only, e.g. HN-GA-001")
    share, opening = v["share_type"], v["open_type"]
    if share in ("conditional", "none"):  # art. 15: a reason and a legal or policy basis
        _need(errors, v, "share_reason", msg("catalog.share_reason_required",
                                             "a reason is required for conditional or no sharing, art. 15"))
        _need(errors, v, "share_basis", msg(
            "catalog.share_basis_required",
            "the legal or policy basis is required for conditional or no sharing, art. 15"))
    if share == "conditional":
        _need(errors, v, "share_conditions", msg("catalog.share_conditions_required",
                                                 "state the conditions of a conditional share"))
    if share in SHAREABLE:
        _need(errors, v, "share_method", msg("catalog.share_method_required",
                                             "a shareable resource needs a share method, art. 7"))
        _need(errors, v, "usage_requirements", msg("catalog.usage_requirements_required",
                                                   "state the usage requirements, art. 7"))
        _need(errors, v, "materials", msg("catalog.materials_required",
                                          "list every material an applicant must provide, art. 16"))
    if opening == "conditional":  # art. 24
        _need(errors, v, "open_conditions", msg("catalog.open_conditions_required",
                                                "state the conditions of opening, art. 24"))
    if opening == "closed":  # art. 24
        _need(errors, v, "open_reason", msg("catalog.open_reason_required",
                                            "a reason is required for a resource that is not open, art. 24"))
    if share == "none" and opening == "open":
        errors.setdefault("open_type", msg("catalog.unshared_cannot_open",
                                           "a resource not shared with departments cannot be open to everyone"))
    return errors


def _required(name: str) -> str:
    return msg("catalog.required", "required: {label}", label=FIELDS[name].label)


def _need(errors: dict[str, str], values: Mapping[str, Any], name: str, message: Message) -> None:
    if values[name] in ("", []) and name not in errors:
        errors[name] = message


def _invalid(values: Mapping[str, Any], errors: dict[str, str], keyed: bool = False) -> InvalidForm:
    """Name the resource in every message (keyed: ``code.field`` keys, for a whole catalog)."""
    code, name = values.get("code") or "", values.get("name") or ""
    return InvalidForm({(f"{values.get('code')}.{f}" if keyed else f): (
        msg("catalog.resource_problem",
            "resource {resource_code} ({name}): {problem}", resource_code=code, name=name, problem=m) if code
        else msg("catalog.uncoded_resource_problem", "resource without a code ({name}): {problem}", name=name,
                 problem=m))
        for f, m in errors.items()})


# -- queries --------------------------------------------------------------------------------------

def get_version(session: Session, version_id: int) -> CatalogVersion:
    version = session.get(CatalogVersion, version_id)
    if version is None:
        raise NotFound(msg("catalog.no_version_id", "no such catalog version", version_id=version_id))
    return version


def live_version(session: Session, dept_code: str) -> CatalogVersion | None:
    """The department's published version (the live catalog), if it has one."""
    return _version_where(session, dept_code, CatalogVersion.status == "published")


def draft_of(session: Session, dept_code: str) -> CatalogVersion | None:
    return _version_where(session, dept_code, CatalogVersion.status == "draft")


def find_version(session: Session, dept_code: str, number: int | None) -> CatalogVersion:
    """Version ``number`` of the department, or its open draft when ``number`` is None."""
    where = CatalogVersion.status == "draft" if number is None else CatalogVersion.number == number
    version = _version_where(session, dept_code, where)
    if version is None:
        raise NotFound(msg("catalog.no_draft", "no open draft", department=dept_code) if number is None else
                       msg("catalog.no_version", "no version {number}", department=dept_code, number=number))
    return version


def list_versions(session: Session, dept_code: str) -> list[CatalogVersion]:
    """Every version of the department's catalog, oldest first, the open draft last."""
    dept = department_by_code(session, dept_code)
    return list(session.scalars(sa.select(CatalogVersion).where(CatalogVersion.department_id == dept.id)
                                .order_by(CatalogVersion.number.is_(None), CatalogVersion.number)))


def entries_of(session: Session, version_id: int) -> list[CatalogEntry]:
    return list(session.scalars(sa.select(CatalogEntry).where(CatalogEntry.catalog_version_id == version_id)
                                .order_by(CatalogEntry.code)))


def published_catalog(session: Session, dept_code: str | None = None) -> list[CatalogEntry]:
    """All active resources of the live catalogs (of one department if given)."""
    query = (sa.select(CatalogEntry).join(CatalogEntry.version).join(CatalogVersion.department)
             .where(CatalogVersion.status == "published", CatalogEntry.status == "active"))
    if dept_code is not None:
        query = query.where(CatalogVersion.department_id == department_by_code(session, dept_code).id)
    return list(session.scalars(query.order_by(Department.code, CatalogEntry.code)))


def get_resource(session: Session, code: str, include_retired: bool = False) -> CatalogEntry:
    """The live resource with this code (``entry.department`` is its provider department)."""
    entry = session.scalars(sa.select(CatalogEntry).join(CatalogEntry.version).where(
        CatalogVersion.status == "published", CatalogEntry.code == code)).first()
    if entry is None:
        raise NotFound(msg("catalog.resource_not_found", "no published resource with this code", resource_code=code))
    if entry.status != "active" and not include_retired:
        raise NotFound(msg("catalog.resource_retired", "the resource is retired", resource_code=code))
    return entry


def codes_taken(session: Session, department_id: int, codes: list[str]) -> dict[str, str]:
    """Code → department name, for codes another department's live catalog already uses."""
    if not codes:
        return {}
    rows = session.execute(sa.select(CatalogEntry.code, Department.name)
                           .join(CatalogVersion, CatalogEntry.catalog_version_id == CatalogVersion.id)
                           .join(Department, CatalogVersion.department_id == Department.id)
                           .where(CatalogVersion.status == "published",
                                  CatalogVersion.department_id != department_id,
                                  CatalogEntry.code.in_(sorted(set(codes)))))
    return {row.code: row.name for row in rows}


def _version_where(session: Session, dept_code: str, condition) -> CatalogVersion | None:
    dept = department_by_code(session, dept_code)
    return session.scalars(sa.select(CatalogVersion).where(
        CatalogVersion.department_id == dept.id, condition)).first()


def _entry(session: Session, version_id: int, code: str) -> CatalogEntry | None:
    return session.scalars(sa.select(CatalogEntry).where(
        CatalogEntry.catalog_version_id == version_id, CatalogEntry.code == code)).first()


# -- commands -------------------------------------------------------------------------------------

def open_draft(uow: UnitOfWork, dept_code: str, actor: Actor | str, now: datetime) -> CatalogVersion:
    """The department's open draft; a new one is a copy of the live version (art. 8: dynamic update)."""
    session = uow.session
    dept = session.scalars(sa.select(Department).where(Department.code == dept_code).with_for_update()).first()
    if dept is None:
        raise NotFound(msg("org.no_department", "no such department", department_code=dept_code))
    draft = draft_of(session, dept_code)
    if draft is not None:
        return draft
    live = live_version(session, dept_code)
    draft = CatalogVersion(department=dept, status="draft", based_on_id=live.id if live else None,
                           created_by=_who(actor), created_at=now)
    session.add(draft)
    session.flush()
    for entry in entries_of(session, live.id) if live else []:
        copy = CatalogEntry(version=draft)
        copy.assign(entry.data(), entry.updated_by, entry.updated_at)
        session.add(copy)
    session.flush()
    uow.record(audit.Entry(now, _who(actor), "catalog_draft_opened", summary={
        "department": dept.code, "draft": draft.id, "based_on": live.number if live else None}))
    return draft


def upsert_entry(uow: UnitOfWork, draft_id: int, data: Mapping[str, Any], actor: Actor | str,
                 now: datetime) -> CatalogEntry:
    """Add a resource to the draft or change the one with the same code (missing keys keep their value)."""
    session = uow.session
    draft = _lock_draft(session, draft_id)
    existing = _entry(session, draft.id, str(data.get("code") or "").strip())
    values, errors = clean_entry({**existing.data(), **data} if existing else data)
    taken = codes_taken(session, draft.department_id, [values["code"]]) if not errors else {}
    if taken:
        errors["code"] = _taken_message(values["code"], taken[values["code"]])
    if errors:
        raise _invalid(values, errors)
    changed = field_changes(existing.data(), values) if existing else None
    if existing is not None and not changed:
        return existing
    entry = existing or CatalogEntry(version=draft)
    entry.assign(values, _who(actor), now)
    session.add(entry)
    session.flush()
    uow.record(audit.Entry(now, _who(actor), "catalog_entry_saved", summary={
        "department": draft.department.code, "draft": draft.id, "code": entry.code,
        "fields": [c.field for c in changed] if changed else "new"}))
    return entry


def retire_entry(uow: UnitOfWork, draft_id: int, code: str, actor: Actor | str,
                 now: datetime) -> CatalogEntry:
    """Mark a resource retired (停用): it stays in the catalog's history but leaves the live list."""
    _existing(uow.session, draft_id, code)  # never create a resource just to retire it
    return upsert_entry(uow, draft_id, {"code": code, "status": "retired"}, actor, now)


def remove_entry(uow: UnitOfWork, draft_id: int, code: str, actor: Actor | str, now: datetime) -> None:
    """Delete a resource from the draft (a mistake; a real resource that ends is retired)."""
    entry = _existing(uow.session, draft_id, code)
    uow.session.delete(entry)
    uow.session.flush()
    uow.record(audit.Entry(now, _who(actor), "catalog_entry_removed", summary={
        "department": entry.version.department.code, "draft": draft_id, "code": code}))


def replace_entries(uow: UnitOfWork, draft_id: int, rows: list[Mapping[str, Any]], actor: Actor | str,
                    now: datetime, source: str = "") -> int:
    """Replace every resource of the draft (an import); all rows valid or nothing changes."""
    session = uow.session
    draft = _lock_draft(session, draft_id)
    _check_catalog(session, draft, rows, keyed=True)
    cleaned = [clean_entry(row)[0] for row in rows]
    for entry in entries_of(session, draft.id):
        session.delete(entry)
    session.flush()
    for values in cleaned:
        entry = CatalogEntry(version=draft)
        entry.assign(values, _who(actor), now)
        session.add(entry)
    session.flush()
    uow.record(audit.Entry(now, _who(actor), "catalog_entries_replaced", summary={
        "department": draft.department.code, "draft": draft.id, "count": len(cleaned), "source": source}))
    return len(cleaned)


def publish_draft(uow: UnitOfWork, draft_id: int, actor: Actor | str, now: datetime, basis: str = "",
                  case_id: int | None = None) -> CatalogVersion:
    """Validate every resource and make the draft the live version; the old one is superseded."""
    session = uow.session
    draft = _lock_draft(session, draft_id)
    if session.get_bind().dialect.name == "postgresql":  # codes stay unique across departments
        session.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": CATALOG_LOCK_KEY})
    entries = entries_of(session, draft.id)
    _check_catalog(session, draft, [e.data() for e in entries], keyed=True)
    live = live_version(session, draft.department.code)
    if live is not None:
        live.status = "superseded"
        session.flush()
    last = session.scalar(sa.select(sa.func.max(CatalogVersion.number)).where(
        CatalogVersion.department_id == draft.department_id))
    draft.status, draft.number = "published", (last or 0) + 1
    draft.published_by, draft.published_at, draft.basis, draft.case_id = _who(actor), now, basis.strip(), case_id
    session.flush()
    changes = diff_versions(session, live.id, draft.id) if live else None
    uow.record(audit.Entry(now, _who(actor), "catalog_published", case_id, summary={
        "department": draft.department.code, "version": draft.number, "version_id": draft.id,
        "resources": len(entries), "basis": draft.basis, "changes": changes.counts() if changes else "first"}))
    return draft


def discard_draft(uow: UnitOfWork, draft_id: int, actor: Actor | str, now: datetime) -> None:
    """Throw the draft away; the live catalog is unchanged."""
    session = uow.session
    draft = _lock_draft(session, draft_id)
    session.execute(sa.delete(CatalogEntry).where(CatalogEntry.catalog_version_id == draft.id))
    session.delete(draft)
    session.flush()
    uow.record(audit.Entry(now, _who(actor), "catalog_draft_discarded", summary={
        "department": draft.department.code, "draft": draft_id}))


def _who(actor: Actor | str) -> str:
    return actor.username if isinstance(actor, Actor) else str(actor)


def _lock_draft(session: Session, draft_id: int) -> CatalogVersion:
    draft = session.scalars(sa.select(CatalogVersion).where(CatalogVersion.id == draft_id)
                            .with_for_update(of=CatalogVersion)).first()
    if draft is None:
        raise NotFound(msg("catalog.no_draft_id", "no such catalog draft", draft_id=draft_id))
    if draft.status != "draft":
        raise GovflowError(msg("catalog.published", "this version is published; open a new draft to change it",
                               version=draft.label))
    return draft


def _existing(session: Session, draft_id: int, code: str) -> CatalogEntry:
    draft = _lock_draft(session, draft_id)
    entry = _entry(session, draft.id, code)
    if entry is None:
        raise NotFound(msg("catalog.not_in_draft", "no resource with this code in the draft", resource_code=code))
    return entry


def _check_catalog(session: Session, draft: CatalogVersion, rows: list[Mapping[str, Any]],
                   keyed: bool = False) -> None:
    """Every resource valid, codes unique here and unused by other departments; else InvalidForm."""
    if not rows:
        raise GovflowError(msg("catalog.empty", "the catalog has no resources"))
    errors: dict[str, str] = {}
    seen: set[str] = set()
    taken = codes_taken(session, draft.department_id, [str(r.get("code") or "") for r in rows])
    for row in rows:
        values, problems = clean_entry(row)
        code = values.get("code") or ""
        if code in seen:
            problems["code"] = msg("catalog.code_repeated", "the code is used twice", resource_code=code)
        elif code in taken:
            problems["code"] = _taken_message(code, taken[code])
        seen.add(code)
        errors.update(_invalid(values, problems, keyed).errors if problems else {})
    if errors:
        raise InvalidForm(errors)


def _taken_message(code: str, department: str) -> str:
    return msg("catalog.code_taken", "the code belongs to another department's catalog", resource_code=code,
               department=department)


# -- comparing versions ---------------------------------------------------------------------------

@dataclass(frozen=True)
class FieldChange:
    field: str
    old: Any
    new: Any

    @property
    def title(self) -> str:
        return FIELDS[self.field].zh


@dataclass(frozen=True)
class CatalogDiff:
    """What changed from version ``old_id`` to version ``new_id`` (resources keyed by code)."""

    old_id: int
    new_id: int
    added: dict[str, str]  # code → name
    removed: dict[str, str]
    changed: dict[str, list[FieldChange]]

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed)

    def counts(self) -> dict[str, int]:
        return {"added": len(self.added), "removed": len(self.removed), "changed": len(self.changed)}


def field_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[FieldChange]:
    return [FieldChange(name, old[name], new[name]) for name in FIELDS if old[name] != new[name]]


def diff_versions(session: Session, version_a_id: int, version_b_id: int) -> CatalogDiff:
    """Resources added, removed and changed (field by field) from version A to version B."""
    a, b = get_version(session, version_a_id), get_version(session, version_b_id)
    if a.department_id != b.department_id:
        raise GovflowError(msg("catalog.diff_departments", "both versions must belong to one department"))
    old = {e.code: e.data() for e in entries_of(session, a.id)}
    new = {e.code: e.data() for e in entries_of(session, b.id)}
    changed = {code: field_changes(old[code], new[code]) for code in sorted(old.keys() & new.keys())}
    return CatalogDiff(a.id, b.id, {c: new[c]["name"] for c in sorted(new.keys() - old.keys())},
                       {c: old[c]["name"] for c in sorted(old.keys() - new.keys())},
                       {code: fields for code, fields in changed.items() if fields})
