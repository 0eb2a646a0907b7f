"""The Alembic migrations produce exactly the schema the models describe (no create_all anywhere)."""
from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

import engine.domain  # noqa: F401  (every model registered)
from engine.models import Base


def test_migrated_schema_equals_the_models(db_url):
    db = sa.create_engine(db_url)
    with db.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
    db.dispose()
