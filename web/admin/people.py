"""People (用户): list, create, edit name, department, roles and active flag, reset the password."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine.errors import InvalidForm, NotFound
from engine.verbs import people as verbs
from engine.views import admin as views

from ..auth import renew_login
from ..context import actor, govflow
from ..i18n import localise
from . import bp
from ..inputs import page_arg

PER_PAGE = 50


@bp.get("/people")
def people():
    """Everyone, filtered by department and a search over login and name, 50 a page."""
    dept, q = request.args.get("department", ""), (request.args.get("q") or "").strip()[:64]
    page = page_arg()
    found = views.people_page(govflow(), dept, q, PER_PAGE, (page - 1) * PER_PAGE)
    return render_template("admin/people.html", people=found.people, departments=found.departments,
                           roles=views.ROLES, department=dept, q=q, page=page, pages=max(1, -(-found.total // PER_PAGE)),
                           total=found.total)


@bp.route("/people/new", methods=("GET", "POST"))
def new_person():
    """Create a person with a department, roles and a first password."""
    values = {"login": "", "display_name": "", "department": request.args.get("department", ""), "roles": set()}
    if request.method == "POST":
        values = _entered()
        try:
            verbs.add_person(govflow(), actor(), values["login"], values["display_name"], values["department"],
                             values["roles"], request.form.get("password", ""))
        except InvalidForm as exc:
            return _form("admin/person_new.html", values, exc.errors, 422)
        flash(_("Person %(login)s created.", login=values["login"]), "success")
        return redirect(url_for("admin.person", login=values["login"]))
    return _form("admin/person_new.html", values, {})


@bp.route("/people/<login>", methods=("GET", "POST"))
def person(login: str):
    """Edit a person: name, department, roles, active; claimed tasks they may no longer work are released."""
    if request.method == "POST":
        values = {**_entered(), "login": login, "active": request.form.get("active") == "true"}
        try:
            released = verbs.update_person(govflow(), actor(), login, values["display_name"], values["department"],
                                           values["roles"], values["active"])
        except InvalidForm as exc:
            return _form("admin/person.html", values, exc.errors, 422)
        if login == actor().username:  # the change ended my sessions: this one goes on, renewed
            renew_login(govflow(), login)
        flash(_("Saved."), "success")
        if released:
            flash(_("%(num)s claimed task(s) went back to the shared inbox.", num=released), "info")
        return redirect(url_for("admin.person", login=login))
    found = views.person_form(govflow(), login)
    p = found.person
    values = {"login": p.login, "display_name": p.display_name, "department": p.department.code,
              "roles": set(p.roles), "active": p.active}
    return _render("admin/person.html", values, {}, found.departments)


@bp.post("/people/<login>/password")
def reset_password(login: str):
    """Set a new password for a person (they should change it; it is never shown again)."""
    try:
        verbs.reset_password(govflow(), actor(), login, request.form.get("password", ""))
    except InvalidForm as exc:
        flash(localise(exc.errors["password"]), "error")
        return redirect(url_for("admin.person", login=login))
    flash(_("The password of %(login)s was reset.", login=login), "success")
    return redirect(url_for("admin.person", login=login))


@bp.post("/people/<login>/sessions/end")
def end_sessions(login: str):
    """End every session of a person (a lost laptop, a shared computer): they must log in again."""
    try:
        verbs.end_sessions(govflow(), actor(), login)
    except NotFound:
        abort(404)
    flash(_("Every session of %(login)s was ended.", login=login), "success")
    return redirect(url_for("admin.person", login=login))


def _entered() -> dict:
    form = request.form
    return {"login": form.get("login", "").strip()[:64], "display_name": form.get("display_name", "")[:200],
            "department": form.get("department", "")[:40],
            "roles": {r[:40] for r in form.getlist("roles")[:len(views.ROLES) + 1]}}


def _form(template: str, values: dict, errors: dict, status: int = 200):
    return _render(template, values, errors, views.person_form(govflow()).departments, status)


def _render(template: str, values: dict, errors: dict, departments: list, status: int = 200):
    if errors:
        flash(_("Please correct the marked fields."), "error")
    return render_template(template, values=values, departments=departments, roles=views.ROLES,
                           errors={k: localise(v) for k, v in errors.items()}), status
