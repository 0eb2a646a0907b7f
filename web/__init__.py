"""The Flask front end: an app factory over the engine built by ``engine.bootstrap``."""
from __future__ import annotations

from datetime import timedelta
from typing import Any, Mapping

from flask import Flask
from flask_wtf.csrf import CSRFProtect

from engine.bootstrap import build_engine
from engine.config import Config

MAX_CONTENT_LENGTH = 2 * 1024 * 1024  # forms; the evidence-file upload raises it for itself
SESSION_LIFETIME = timedelta(hours=10)  # a working day; the signed cookie is refused after it

csrf = CSRFProtect()


def create_app(config: Config | None = None, test_config: Mapping[str, Any] | None = None) -> Flask:
    """Create the web app; build the engine once and keep it in ``app.extensions``.

    ``test_config`` overrides Flask settings; its ``engine`` entry, if any, is used instead of
    building one (tests pass an engine with a frozen clock).
    """
    config = config or Config.from_env()
    from engine.logs import configure
    if not (test_config or {}).get("TESTING"):
        configure()  # structured lines with the request and case ids (GOVFLOW_LOG_FORMAT=json)
    secret = config.require_secret()  # no default key: MissingSecret says what to set
    overrides = dict(test_config or {})
    engine = overrides.pop("engine", None) or build_engine(config)
    app = Flask(__name__)
    app.jinja_env.trim_blocks = app.jinja_env.lstrip_blocks = True
    app.config.from_mapping(
        SECRET_KEY=secret,
        MAX_CONTENT_LENGTH=MAX_CONTENT_LENGTH,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=config.secure_cookies,
        PERMANENT_SESSION_LIFETIME=SESSION_LIFETIME,
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session
    )
    app.config.update(overrides)
    app.extensions["govflow"] = engine

    from . import auth, errors, i18n, inputs, layout, logs, security
    inputs.init_app(app)  # before any route: ids bounded to what the databases hold
    logs.init_app(app)
    i18n.init_app(app)
    layout.init_app(app)
    auth.init_app(app)
    csrf.init_app(app)
    security.init_app(app, config.trusted_proxies)
    errors.init_app(app)

    from . import main, notifications, start, supervision, tasks
    notifications.init_app(app)
    for module in (main, auth, i18n, tasks, start, notifications, supervision):
        app.register_blueprint(module.bp)
    from . import vendor
    app.register_blueprint(vendor.bp)
    from . import performance
    app.register_blueprint(performance.bp)
    from . import metrics, oidc
    metrics.init_app(app)
    oidc.init_app(app, config)
    from . import api, tokens
    api.init_app(app)
    app.register_blueprint(tokens.bp)
    from . import admin, attachments, public, returns
    for module in (admin, public, attachments, returns):
        app.register_blueprint(module.bp)
    from . import modeler
    app.register_blueprint(modeler.bp)
    from . import grants, incidents
    app.register_blueprint(grants.bp)
    app.register_blueprint(incidents.bp)
    return app
