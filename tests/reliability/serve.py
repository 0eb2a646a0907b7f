"""The app as the reliability tier serves it (waitress --call / gunicorn): the real clock, the
e2e county's review_loop procedure, the database from GOVFLOW_DATABASE_URL."""
from __future__ import annotations

from engine.bootstrap import register_hooks
from engine.clock import SystemClock
from engine.config import Config
from engine.db import create_db_engine, create_session_factory
from engine.service import Engine


def create():
    from tests.e2e.conftest import review_loop
    from web import create_app
    config = Config.from_env()
    db = create_db_engine(config.database_url)
    engine = Engine(config, create_session_factory(db), SystemClock(), {"review_loop": review_loop()})
    engine.db_engine = db
    return create_app(config, test_config={"engine": register_hooks(engine)})
