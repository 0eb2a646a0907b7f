"""the audit chain becomes keyed: records after the seal carry the id of the key that authenticated
them; the chain as it stands is sealed (its plain hashes stay valid up to the seal); signed
checkpoints of the head

Revision ID: 0017
Revises: 0016
"""
import sqlalchemy as sa
from alembic import op

import engine.models

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("audit_record") as batch:
        batch.add_column(sa.Column("key_id", sa.String(16), nullable=True))
    with op.batch_alter_table("audit_chain_head") as batch:
        batch.add_column(sa.Column("sealed_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("sealed_hash", sa.String(64), nullable=True))
    # The unkeyed chain ends here: verify checks it by hash up to the seal, by key after it.
    op.execute("UPDATE audit_chain_head SET sealed_id = last_id, sealed_hash = last_hash")
    op.create_table(
        "audit_checkpoint",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", engine.models.UTCDateTime(), nullable=False),
        sa.Column("last_id", sa.Integer(), nullable=False),
        sa.Column("last_hash", sa.String(64), nullable=False),
        sa.Column("sealed_id", sa.Integer(), nullable=True),
        sa.Column("sealed_hash", sa.String(64), nullable=True),
        sa.Column("key_id", sa.String(16), nullable=False),
        sa.Column("signature", sa.String(128), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_checkpoint")),
    )


def downgrade() -> None:
    op.drop_table("audit_checkpoint")
    with op.batch_alter_table("audit_chain_head") as batch:
        batch.drop_column("sealed_hash")
        batch.drop_column("sealed_id")
    with op.batch_alter_table("audit_record") as batch:
        batch.drop_column("key_id")
