"""The ``tokens`` blueprint: my personal API tokens (``/account/tokens``) for the JSON API: list,
create (the token is shown once, never again), revoke."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine.errors import GovflowError, InvalidForm, NotFound
from engine.verbs import tokens as verbs
from engine.views import accounts as views

from .context import actor, govflow
from .errors import flash_refusal
from .i18n import localise

bp = Blueprint("tokens", __name__, url_prefix="/account/tokens")


@bp.get("/")
def index():
    """My active tokens and the form for a new one."""
    return _page()


@bp.post("/")
def create():
    """Create a token and show it this once; only its digest is kept."""
    name = request.form.get("name", "")
    try:
        secret = verbs.create_token(govflow(), actor(), name)
    except InvalidForm as exc:
        return _page(name=name, error=localise(next(iter(exc.errors.values()))), status=422)
    except GovflowError as exc:
        flash_refusal(exc)
        return _page(name=name, status=409)
    flash(_("Token created. Copy it now: it will not be shown again."), "success")
    return _page(secret=secret, status=201)


@bp.post("/<int:token_id>/revoke")
def revoke(token_id: int):
    """Revoke one of my tokens: the systems using it are refused from their next request."""
    try:
        name = verbs.revoke_token(govflow(), actor(), token_id)
    except NotFound as exc:
        flash_refusal(exc)
        return redirect(url_for("tokens.index"))
    flash(_("Token revoked: %(name)s", name=name), "success")
    return redirect(url_for("tokens.index"))


def _page(name: str = "", error: str | None = None, secret: str | None = None, status: int = 200):
    return render_template("tokens/index.html", tokens=views.my_tokens(govflow(), actor()), name=name, error=error,
                           secret=secret, max_name=views.TOKEN_NAME_LENGTH,
                           api_url=url_for("api-docs.openapi_json")), status
