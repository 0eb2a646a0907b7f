"""Alembic upgrade run from code (``govflow init-db``), never ``create_all`` in production."""
from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config as AlembicConfig

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: str) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(db_engine: sa.Engine, revision: str = "heads") -> None:
    """Bring the schema up to ``revision`` on the given engine."""
    cfg = alembic_config(db_engine.url.render_as_string(hide_password=False))
    with db_engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, revision)
