"""the public's rate limit (objections, receipt lookups) and evidence files kept with cases

Revision ID: 0008
Revises: 0007_urges
Create Date: 2026-11-28 12:00:00.000000
"""
from alembic import op
import sqlalchemy as sa
import engine.models


revision = '0008'
down_revision = '0007_urges'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('public_request',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('client', sa.String(length=64), nullable=False),
    sa.Column('at', engine.models.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_public_request'))
    )
    with op.batch_alter_table('public_request', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_public_request_at'), ['at'], unique=False)
        batch_op.create_index('ix_public_request_kind_client_at', ['kind', 'client', 'at'], unique=False)

    op.create_table('attachment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('task_id', sa.String(length=36), nullable=True),
    sa.Column('original_name', sa.String(length=255), nullable=False),
    sa.Column('stored_name', sa.String(length=64), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('content_type', sa.String(length=100), nullable=False),
    sa.Column('uploaded_by', sa.String(length=200), nullable=False),
    sa.Column('uploaded_at', engine.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['case.id'], name=op.f('fk_attachment_case_id_case'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_attachment')),
    sa.UniqueConstraint('stored_name', name=op.f('uq_attachment_stored_name'))
    )
    with op.batch_alter_table('attachment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_attachment_case_id'), ['case_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('attachment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_attachment_case_id'))

    op.drop_table('attachment')
    with op.batch_alter_table('public_request', schema=None) as batch_op:
        batch_op.drop_index('ix_public_request_kind_client_at')
        batch_op.drop_index(batch_op.f('ix_public_request_at'))

    op.drop_table('public_request')
