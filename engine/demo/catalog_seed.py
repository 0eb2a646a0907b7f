"""Publish the demo catalog: one version per department that has demo resources (idempotent)."""
from __future__ import annotations

from collections import defaultdict

from engine.domain import catalog

from .resources import COND_BASIS, NONE_BASIS, RESOURCES

FORMAT_BY_METHOD = {"interface": "database", "file": "spreadsheet", "batch": "database"}
CLASSIFICATION = {"基础库": "base", "主题库": "theme", "部门库": "department"}


def entry(row) -> dict:
    """A catalog entry (art. 7 fields) from a compact demo row."""
    suffix, _dept, name, classification, category, share_type, basis_key, items, freq, method = row
    data = {
        "code": f"HN-{suffix}", "name": name, "classification": CLASSIFICATION[classification],
        "category": category, "summary": f"{name}，由提供部门依法采集、逐项校核后归集至县大数据中心（第十一条）。",
        "format": "spatial" if category == "空间地理" else FORMAT_BY_METHOD[method],
        "data_items": [{"name": n, "type": t, "description": d} for n, t, d in items],
        "update_frequency": freq, "share_type": share_type, "status": "active",
        "open_type": "closed" if share_type != "unconditional" else "open",
    }
    if share_type != "unconditional":
        reason, basis = (COND_BASIS if share_type == "conditional" else NONE_BASIS)[basis_key]
        data.update(share_reason=reason, share_basis=basis, open_reason=reason)  # art. 15, art. 24
    if share_type == "conditional":
        data["share_conditions"] = "仅限使用部门履行法定职责所必需，按授权范围和期限使用"
    if share_type != "none":
        data.update(share_method=method,
                    usage_requirements="仅用于申请时载明的应用场景，不得以任何形式提供给第三方（第十四条）",
                    materials=_materials(share_type))  # art. 16
    return data


def _materials(share_type: str) -> list[str]:
    base = ["共享申请表（加盖使用部门公章）", "应用场景说明"]
    if share_type == "conditional":
        base += ["履职依据（法律法规或三定方案条款）", "数据安全保障承诺书"]
    return base


def seed_catalog(engine, actor) -> int:
    """Publish a first version for every demo department without a published catalog."""
    by_dept: dict[str, list] = defaultdict(list)
    for row in RESOURCES:
        by_dept[row[1]].append(row)
    published = 0
    for dept_code, rows in by_dept.items():
        with engine.uow() as uow:
            if catalog.live_version(uow.session, dept_code) is not None:
                continue
            now = engine.clock.now()
            draft = catalog.open_draft(uow, dept_code, actor, now)
            for row in rows:
                catalog.upsert_entry(uow, draft.id, entry(row), actor, now)
            catalog.publish_draft(uow, draft.id, actor, now, basis="演示数据：初始目录")
            uow.commit()
            published += 1
    return published
