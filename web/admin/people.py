"""People (用户): list, create, edit name, department, roles and active flag, reset the password."""
from __future__ import annotations

import sqlalchemy as sa
from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from engine.domain import org
from engine.domain.org import Department, Person
from engine.errors import InvalidForm, NotFound

from ..context import govflow
from ..i18n import localise
from . import bp

PER_PAGE = 50


@bp.get("/people")
def people():
    """Everyone, filtered by department and a search over login and name, 50 a page."""
    dept, q = request.args.get("department", ""), (request.args.get("q") or "").strip()[:64]
    page = max(1, request.args.get("page", 1, type=int) or 1)
    query = sa.select(Person).join(Department, Person.department_id == Department.id)
    if dept:
        query = query.where(Department.code == dept)
    if q:
        like = f"%{q.replace('%', '').replace('_', '')}%"
        query = query.where(sa.or_(Person.login.like(like), Person.display_name.like(like)))
    with govflow().uow() as uow:
        total = uow.session.scalar(sa.select(sa.func.count()).select_from(query.subquery())) or 0
        rows = list(uow.session.scalars(query.order_by(Department.code, Person.login)
                                        .limit(PER_PAGE).offset((page - 1) * PER_PAGE)))
        departments = _departments(uow.session)
    return render_template("admin/people.html", people=rows, departments=departments, roles=org.ROLES,
                           department=dept, q=q, page=page, pages=max(1, -(-total // PER_PAGE)), total=total)


@bp.route("/people/new", methods=("GET", "POST"))
def new_person():
    """Create a person with a department, roles and a first password."""
    values = {"login": "", "display_name": "", "department": request.args.get("department", ""), "roles": set()}
    if request.method == "POST":
        values = _entered()
        engine = govflow()
        try:
            with engine.uow() as uow:
                org.add_person(uow, values["login"], values["display_name"], values["department"], values["roles"],
                               request.form.get("password", ""), current_user.login, engine.clock.now())
                uow.commit()
        except InvalidForm as exc:
            return _form("admin/person_new.html", values, exc.errors, 422)
        flash(_("Person %(login)s created.", login=values["login"]), "success")
        return redirect(url_for("admin.person", login=values["login"]))
    return _form("admin/person_new.html", values, {})


@bp.route("/people/<login>", methods=("GET", "POST"))
def person(login: str):
    """Edit a person: name, department, roles, active; claimed tasks they may no longer work are released."""
    engine = govflow()
    with engine.uow() as uow:
        found = org.person_by_login(uow.session, login)
        if found is None:
            raise NotFound("用户不存在 (no such person)")
        values = {"login": found.login, "display_name": found.display_name, "department": found.department.code,
                  "roles": set(found.roles), "active": found.active}
    if request.method == "POST":
        values = {**_entered(), "login": login, "active": request.form.get("active") == "true"}
        try:
            with engine.uow() as uow:
                released = org.update_person(uow, login, values["display_name"], values["department"],
                                             values["roles"], values["active"], current_user.login, engine.clock.now())
                uow.commit()
        except InvalidForm as exc:
            return _form("admin/person.html", values, exc.errors, 422)
        flash(_("Saved."), "success")
        if released:
            flash(_("%(num)s claimed task(s) went back to the shared inbox.", num=released), "info")
        return redirect(url_for("admin.person", login=login))
    return _form("admin/person.html", values, {})


@bp.post("/people/<login>/password")
def reset_password(login: str):
    """Set a new password for a person (they should change it; it is never shown again)."""
    engine = govflow()
    try:
        with engine.uow() as uow:
            org.reset_password(uow, login, request.form.get("password", ""), current_user.login, engine.clock.now())
            uow.commit()
    except InvalidForm as exc:
        flash(localise(exc.errors["password"]), "error")
        return redirect(url_for("admin.person", login=login))
    flash(_("The password of %(login)s was reset.", login=login), "success")
    return redirect(url_for("admin.person", login=login))


def _entered() -> dict:
    form = request.form
    return {"login": form.get("login", "").strip()[:64], "display_name": form.get("display_name", "")[:200],
            "department": form.get("department", "")[:40],
            "roles": {r[:40] for r in form.getlist("roles")[:len(org.ROLES) + 1]}}


def _form(template: str, values: dict, errors: dict, status: int = 200):
    if errors:
        flash(_("Please correct the marked fields."), "error")
    with govflow().uow() as uow:
        departments = _departments(uow.session)
    return render_template(template, values=values, departments=departments, roles=org.ROLES,
                           errors={k: localise(v) for k, v in errors.items()}), status


def _departments(session) -> list[tuple[str, str]]:
    return [(d.code, d.name) for d in session.scalars(sa.select(Department).order_by(Department.code))]
