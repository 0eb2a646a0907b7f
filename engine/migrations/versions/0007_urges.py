"""urges (催办): the data authority's reminders on open tasks

Revision ID: 0007_urges
Revises: 0006
Create Date: 2026-11-28 09:00:00.000000
"""
from alembic import op
import sqlalchemy as sa
import engine.models


revision = '0007_urges'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('urge',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('task_id', sa.String(length=36), nullable=False),
    sa.Column('urged_by', sa.String(length=200), nullable=False),
    sa.Column('urged_at', engine.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('note', sa.String(length=500), nullable=False),
    sa.Column('notified', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['case.id'], name=op.f('fk_urge_case_id_case'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_urge'))
    )
    with op.batch_alter_table('urge', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_urge_case_id'), ['case_id'], unique=False)
        batch_op.create_index('ix_urge_task_at', ['task_id', 'urged_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('urge', schema=None) as batch_op:
        batch_op.drop_index('ix_urge_task_at')
        batch_op.drop_index(batch_op.f('ix_urge_case_id'))

    op.drop_table('urge')
