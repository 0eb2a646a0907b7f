"""a grant keeps the materials it was granted on (art. 16), copied from its share application, so
that the engine's grant pages and renewals never read a procedure's own records

Revision ID: 0015
Revises: 0014
"""
import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("share_grant") as batch:
        batch.add_column(sa.Column("materials", sa.JSON(), nullable=True))
    op.execute("UPDATE share_grant SET materials = (SELECT share_application.materials FROM share_application "
               "WHERE share_application.grant_id = share_grant.id)")


def downgrade() -> None:
    with op.batch_alter_table("share_grant") as batch:
        batch.drop_column("materials")
