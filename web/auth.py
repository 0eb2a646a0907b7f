"""The ``auth`` blueprint: log-in (rate-limited, audited), log-out, and the logged-in person."""
from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user

from engine.i18n import N_  # Flask-Login translates it when shown (localize_callback)
from engine.uow import Actor
from engine.verbs import accounts as verbs
from engine.views.accounts import SessionPerson, person_by_login_for_session, person_for_session

from .context import client_ip, govflow, safe_next

bp = Blueprint("auth", __name__)
login_manager = LoginManager()
PUBLIC_ENDPOINTS = {"auth.login", "main.healthz", "metrics.metrics", "i18n.set_language", "static",
                    "oidc.start", "oidc.callback"}
PUBLIC_BLUEPRINTS = {"public"}  # objections from anyone (art. 18): no account needed
KEPT_ON_LOGIN = ("lang",)  # session keys that survive the session being renewed at log-in


class User(UserMixin):
    """The logged-in person: a snapshot of the person, loaded by id on each request."""

    def __init__(self, person: SessionPerson):
        self.id = person.session_id  # "<person id>:<epoch>": ending the person's sessions ends this one
        self.login = person.login
        self.display_name = person.display_name
        self.department_code = person.department_code
        self.department_name = person.department_name
        self.roles = person.roles

    @property
    def actor(self) -> Actor:
        return Actor(self.login, self.roles, self.department_code)

    def has_role(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))


def init_app(app) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = N_("Please log in to continue.")
    login_manager.localize_callback = _
    login_manager.login_message_category = "info"
    app.before_request(require_login)


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    """The active person of this session; None (logged out) once their sessions were ended."""
    person = person_for_session(govflow(), user_id)
    return User(person) if person is not None else None


def require_login():
    """Every page but the log-in page, the health check, static files and the language switch.

    The JSON API under /api/ authenticates each request with its own token (web/api/auth.py)."""
    if (request.endpoint is None or request.endpoint in PUBLIC_ENDPOINTS or request.path.startswith("/api/")
            or request.blueprint in PUBLIC_BLUEPRINTS):
        return None
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    return None


@bp.route("/login", methods=("GET", "POST"))
def login():
    """Show the log-in form; check the password, at most 5 failures per 15 minutes."""
    if request.method == "GET":
        if current_user.is_authenticated:
            return redirect(url_for("main.index"))
        return render_template("auth/login.html")
    name = request.form.get("login", "").strip()[:64]
    try:
        person = verbs.log_in(govflow(), name, request.form.get("password", ""), client_ip())
    except verbs.TooManyFailures:
        current_app.logger.warning("log-in rate limit reached for %r from %s", name, client_ip())
        message = _("Too many failed log-ins. Please try again in 15 minutes.")
        return render_template("auth/login.html", error=message, login=name), 429, {"Retry-After": "900"}
    if person is None:
        return render_template("auth/login.html", error=_("Wrong login name or password."), login=name)
    _renew_session()
    login_user(User(person))
    session.permanent = True
    return redirect(safe_next(request.args.get("next"), url_for("main.index")))


def renew_login(engine, login: str) -> None:
    """Keep the current request's person logged in after their sessions were ended by a change they
    made themselves (a new session in the new epoch; every other session stays ended)."""
    person = person_by_login_for_session(engine, login)
    if person is not None:
        login_user(User(person))
        session.permanent = True


@bp.post("/logout")
def logout():
    """Log out (a POST with the CSRF token, so that no other site can log anyone out)."""
    verbs.log_out(govflow(), current_user.actor, client_ip())
    logout_user()
    _renew_session()
    flash(_("You have logged out."), "info")
    return redirect(url_for("auth.login"))


def _renew_session() -> None:
    """Start a fresh session (against session fixation), keeping the language choice."""
    kept = {key: session[key] for key in KEPT_ON_LOGIN if key in session}
    session.clear()
    session.update(kept)
