"""The Flask front end: an app factory over the engine built by ``engine.bootstrap``."""
from __future__ import annotations

from flask import Flask

from engine.bootstrap import build_engine
from engine.config import Config


def create_app(config: Config | None = None) -> Flask:
    """Create the web app; build the engine once and keep it in ``app.extensions``."""
    config = config or Config.from_env()
    app = Flask(__name__)
    app.config["SECRET_KEY"] = config.secret_key
    app.extensions["govflow"] = build_engine(config)

    from . import views
    app.register_blueprint(views.bp)
    return app
