"""The composition root: the web app and the timer worker build the engine with this function."""
from __future__ import annotations

from .clock import Clock, SystemClock
from .config import Config
from .db import create_db_engine, create_session_factory
from .procedures import load_procedures
from .service import Engine
from . import domain  # noqa: F401  (map the domain models)
from .domain import notifications


def build_engine(config: Config | None = None, clock: Clock | None = None,
                 procedures_package: str | None = "workflows") -> Engine:
    """Build the engine from configuration: database, clock, procedures' functions, hooks."""
    config = config or Config.from_env()
    db_engine = create_db_engine(config.database_url, echo=config.sql_echo)
    engine = Engine(config, create_session_factory(db_engine), clock or SystemClock(),
                    load_procedures(procedures_package))
    engine.db_engine = db_engine
    return register_hooks(engine)


def register_hooks(engine: Engine) -> Engine:
    """Steps every case run ends with, in its transaction: the in-app notifications."""
    if notifications.on_advance not in engine.hooks:
        engine.hooks.append(notifications.on_advance)
    return engine
