"""incidents: a case stopped by its diagram's code (a failure in a system job, a budget overrun, a
stall), listed for analysts and administrators until retried or migrated

Revision ID: 0018
Revises: 0017
"""
import sqlalchemy as sa
from alembic import op

from engine.models import UTCDateTime

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "incident",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("case_id", sa.Integer(), sa.ForeignKey("case.id"), nullable=False),
        sa.Column("process_id", sa.String(200), nullable=False),
        sa.Column("definition_id", sa.Integer(), sa.ForeignKey("definition_version.id"), nullable=False),
        sa.Column("element_id", sa.String(200)),
        sa.Column("element_name", sa.String(500)),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", UTCDateTime(timezone=True)),
        sa.Column("resolved_by", sa.String(200)),
        sa.Column("resolution", sa.String(20)),
    )
    op.create_index("ix_incident_case_id", "incident", ["case_id"])
    op.create_index("ix_incident_open", "incident", ["resolved_at", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_incident_open", "incident")
    op.drop_index("ix_incident_case_id", "incident")
    op.drop_table("incident")
