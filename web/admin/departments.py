"""Departments (部门): list, create, edit name, kind and head (数长, art. 5)."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine.errors import InvalidForm
from engine.verbs import departments as verbs
from engine.views import admin as views

from ..context import actor, govflow
from ..i18n import localise
from . import bp


@bp.get("/departments")
def departments():
    """Every department with its kind, head and number of active people."""
    return render_template("admin/departments.html", departments=views.departments_page(govflow()),
                           kinds=views.DEPARTMENT_KINDS)


@bp.route("/departments/new", methods=("GET", "POST"))
def new_department():
    """Create a department (code, name, kind)."""
    values = {"code": "", "name": "", "kind": "county_department"}
    if request.method == "POST":
        values = {k: request.form.get(k, "")[:200] for k in ("code", "name", "kind")}
        try:
            verbs.add_department(govflow(), actor(), values["code"], values["name"], values["kind"])
        except InvalidForm as exc:
            return _form(values, exc.errors, [], False, 422)
        flash(_("Department %(name)s created.", name=values["name"].strip()), "success")
        return redirect(url_for("admin.departments"))
    return _form(values, {}, [], False)


@bp.route("/departments/<code>", methods=("GET", "POST"))
def department(code: str):
    """Edit a department's name, kind and head."""
    if request.method == "POST":
        values = {"code": code, **{k: request.form.get(k, "")[:200] for k in ("name", "kind", "head")}}
        try:
            verbs.update_department(govflow(), actor(), code, values["name"], values["kind"], values["head"] or None)
        except InvalidForm as exc:
            return _form(values, exc.errors, views.department_form(govflow(), code).members, True, 422)
        flash(_("Saved."), "success")
        return redirect(url_for("admin.department", code=code))
    found = views.department_form(govflow(), code)
    values = {"code": found.code, "name": found.name, "kind": found.kind, "head": found.head}
    return _form(values, {}, found.members, True)


def _form(values: dict, errors: dict, members: list, editing: bool, status: int = 200):
    if errors:
        flash(_("Please correct the marked fields."), "error")
    return render_template("admin/department.html", values=values, kinds=views.DEPARTMENT_KINDS, members=members,
                           errors={k: localise(v) for k, v in errors.items()}, editing=editing), status
