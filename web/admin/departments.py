"""Departments (部门): list, create, edit name, kind and head (数长, art. 5)."""
from __future__ import annotations

import sqlalchemy as sa
from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from engine.domain import org
from engine.domain.org import Department, Person
from engine.errors import InvalidForm

from ..context import govflow
from ..i18n import localise
from . import bp


@bp.get("/departments")
def departments():
    """Every department with its kind, head and number of active people."""
    with govflow().uow() as uow:
        s = uow.session
        rows = list(s.scalars(sa.select(Department).order_by(Department.code)))
        counts = dict(s.execute(sa.select(Person.department_id, sa.func.count()).where(Person.active.is_(True))
                                .group_by(Person.department_id)).all())
        heads = {p.id: p.display_name for p in s.scalars(sa.select(Person).where(
            Person.id.in_([d.head_id for d in rows if d.head_id])))}
    return render_template("admin/departments.html", departments=rows, counts=counts, heads=heads,
                           kinds=org.DEPARTMENT_KINDS)


@bp.route("/departments/new", methods=("GET", "POST"))
def new_department():
    """Create a department (code, name, kind)."""
    values = {"code": "", "name": "", "kind": "county_department"}
    if request.method == "POST":
        values = {k: request.form.get(k, "")[:200] for k in ("code", "name", "kind")}
        engine = govflow()
        try:
            with engine.uow() as uow:
                org.add_department(uow, values["code"], values["name"], values["kind"], current_user.login,
                                   engine.clock.now())
                uow.commit()
        except InvalidForm as exc:
            return _form(values, exc.errors, None, 422)
        flash(_("Department %(name)s created.", name=values["name"].strip()), "success")
        return redirect(url_for("admin.departments"))
    return _form(values, {}, None)


@bp.route("/departments/<code>", methods=("GET", "POST"))
def department(code: str):
    """Edit a department's name, kind and head."""
    engine = govflow()
    with engine.uow() as uow:
        found = org.department_by_code(uow.session, code)
        head = uow.session.get(Person, found.head_id) if found.head_id else None
        values = {"code": found.code, "name": found.name, "kind": found.kind, "head": head.login if head else ""}
    if request.method == "POST":
        values = {"code": code, **{k: request.form.get(k, "")[:200] for k in ("name", "kind", "head")}}
        try:
            with engine.uow() as uow:
                org.update_department(uow, code, values["name"], values["kind"], values["head"] or None,
                                      current_user.login, engine.clock.now())
                uow.commit()
        except InvalidForm as exc:
            return _form(values, exc.errors, code, 422)
        flash(_("Saved."), "success")
        return redirect(url_for("admin.department", code=code))
    return _form(values, {}, code)


def _form(values: dict, errors: dict, code: str | None, status: int = 200):
    if errors:
        flash(_("Please correct the marked fields."), "error")
    members = []
    if code is not None:
        with govflow().uow() as uow:
            members = [(p.login, p.display_name) for p in uow.session.scalars(
                sa.select(Person).join(Department, Person.department_id == Department.id)
                .where(Department.code == code, Person.active.is_(True)).order_by(Person.login))]
    return render_template("admin/department.html", values=values, kinds=org.DEPARTMENT_KINDS, members=members,
                           errors={k: localise(v) for k, v in errors.items()}, editing=code is not None), status
