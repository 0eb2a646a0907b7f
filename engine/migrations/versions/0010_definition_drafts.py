"""diagram drafts of the modeler (流程设计器): saved on the server until deployed

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-27 12:00:00.000000
"""
from alembic import op
import sqlalchemy as sa
import engine.models


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('definition_draft',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('process_id', sa.String(length=200), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('xml', sa.Text(), nullable=False),
    sa.Column('saved_by', sa.String(length=200), nullable=False),
    sa.Column('saved_at', engine.models.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_definition_draft'))
    )
    with op.batch_alter_table('definition_draft', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_definition_draft_process_id'), ['process_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('definition_draft', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_definition_draft_process_id'))

    op.drop_table('definition_draft')
