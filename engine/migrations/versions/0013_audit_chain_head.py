"""the audit chain's head row: appenders lock it (one round trip instead of an advisory lock and a
read of the last record), and verification checks the chain reaches it

Revision ID: 0013
Revises: 0012
"""
import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

GENESIS = "0" * 64


def upgrade() -> None:
    op.create_table("audit_chain_head",
                    sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
                    sa.Column("last_id", sa.Integer(), nullable=False),
                    sa.Column("last_hash", sa.String(length=64), nullable=False),
                    sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_chain_head")))
    bind = op.get_bind()
    last = bind.execute(sa.text("SELECT id, hash FROM audit_record ORDER BY id DESC LIMIT 1")).first()
    bind.execute(sa.text("INSERT INTO audit_chain_head (id, last_id, last_hash) VALUES (1, :i, :h)"),
                 {"i": last[0] if last else 0, "h": last[1] if last else GENESIS})


def downgrade() -> None:
    op.drop_table("audit_chain_head")
