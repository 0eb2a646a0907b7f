"""Log-in through the province's unified identity platform (统一身份认证, OpenID Connect), beside
local passwords, with Authlib's Flask client: the authorisation-code flow, its state and nonce kept
in the session, the ID token's signature, issuer, audience and expiry checked against the
platform's published keys. The person must already have an active account here with the login the
platform names (``GOVFLOW_OIDC_LOGIN_CLAIM``, ``preferred_username`` by default): an
administrator creates accounts, a log-in never does. Configured by ``GOVFLOW_OIDC_ISSUER``,
``GOVFLOW_OIDC_CLIENT_ID`` and ``GOVFLOW_OIDC_CLIENT_SECRET``; without them the button is not shown
and the routes answer 404."""
from __future__ import annotations

from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.flask_client import OAuth
from joserfc.errors import JoseError
from requests import RequestException
from flask import Blueprint, abort, current_app, flash, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_login import login_user

from engine.verbs import accounts as verbs

from .context import client_ip, govflow, safe_next

bp = Blueprint("oidc", __name__)
CLIENT = "province"


def init_app(app, config) -> None:
    app.config["OIDC_ENABLED"] = bool(config.oidc_issuer and config.oidc_client_id)
    app.config["OIDC_LOGIN_CLAIM"] = config.oidc_login_claim
    app.register_blueprint(bp)
    if not app.config["OIDC_ENABLED"]:
        return
    oauth = OAuth(app)  # one registry per app: another app (another platform) never shares its client
    app.extensions["govflow_oauth"] = oauth
    oauth.register(CLIENT, client_id=config.oidc_client_id, client_secret=config.oidc_client_secret,
                   server_metadata_url=config.oidc_issuer.rstrip("/") + "/.well-known/openid-configuration",
                   client_kwargs={"scope": "openid profile"}, overwrite=True)
    app.config["OIDC_ISSUER"] = config.oidc_issuer


def _client():
    if not current_app.config.get("OIDC_ENABLED"):
        abort(404)
    return current_app.extensions["govflow_oauth"].create_client(CLIENT)


@bp.get("/login/oidc")
def start():
    """Send the browser to the identity platform."""
    client = _client()
    session["oidc_next"] = safe_next(request.args.get("next"), url_for("main.index"))
    return client.authorize_redirect(url_for("oidc.callback", _external=True))


@bp.get("/login/oidc/callback")
def callback():
    """The platform's answer: check it, find the person, log them in."""
    client = _client()
    try:
        token = client.authorize_access_token()
    except (OAuthError, JoseError, RequestException, ValueError, KeyError) as exc:  # forged, expired, unreachable
        current_app.logger.warning("OIDC log-in refused: %s", exc)
        flash(_("The identity platform's answer could not be accepted. Please try again."), "error")
        return redirect(url_for("auth.login"))
    claims = token.get("userinfo") or {}
    login = str(claims.get(current_app.config["OIDC_LOGIN_CLAIM"], ""))
    person = verbs.log_in_external(govflow(), login, current_app.config["OIDC_ISSUER"], str(claims.get("sub", "")),
                                   client_ip())
    if person is None:
        flash(_("The identity platform knows you as %(login)s, but there is no active account with that "
                "login here. Ask the data authority's administrator.", login=login[:64]), "error")
        return redirect(url_for("auth.login"))
    from .auth import User, _renew_session
    target = session.pop("oidc_next", url_for("main.index"))
    _renew_session()
    login_user(User(person))
    session.permanent = True
    return redirect(target)
