"""Administrators' verbs on departments (部门): create, edit name, kind and head (数长, art. 5). Each
is one audited unit of work; refused with ``InvalidForm`` (errors per field)."""
from __future__ import annotations

from ..domain import org
from ..uow import Actor


def add_department(engine, actor: Actor, code: str, name: str, kind: str) -> str:
    """Create a department; return its code."""
    org.require_admin(actor)
    with engine.uow() as uow:
        code = org.add_department(uow, code, name, kind, actor.username, engine.clock.now()).code
        uow.commit()
    return code


def update_department(engine, actor: Actor, code: str, name: str, kind: str, head: str | None) -> None:
    """Rename a department, change its kind or its head (``head``: a member's login, or None)."""
    org.require_admin(actor)
    with engine.uow() as uow:
        org.update_department(uow, code, name, kind, head, actor.username, engine.clock.now())
        uow.commit()
