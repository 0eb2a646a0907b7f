"""data-resource catalog: versions and entries (arts. 7, 15, 16, 24)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 02:10:00
"""
from alembic import op
import sqlalchemy as sa
import engine.models


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('catalog_version',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('based_on_id', sa.Integer(), nullable=True),
    sa.Column('basis', sa.Text(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=True),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.Column('created_at', engine.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('published_by', sa.String(length=200), nullable=True),
    sa.Column('published_at', engine.models.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['based_on_id'], ['catalog_version.id'], name=op.f('fk_catalog_version_based_on_id_catalog_version')),
    sa.ForeignKeyConstraint(['department_id'], ['department.id'], name=op.f('fk_catalog_version_department_id_department')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_catalog_version')),
    sa.UniqueConstraint('department_id', 'number', name='department_number')
    )
    with op.batch_alter_table('catalog_version', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_catalog_version_department_id'), ['department_id'], unique=False)
        # at most one open draft and one live (published) version per department
        batch_op.create_index('uq_catalog_version_one_draft', ['department_id'], unique=True,
                              sqlite_where=sa.text("status = 'draft'"),
                              postgresql_where=sa.text("status = 'draft'"))
        batch_op.create_index('uq_catalog_version_one_published', ['department_id'], unique=True,
                              sqlite_where=sa.text("status = 'published'"),
                              postgresql_where=sa.text("status = 'published'"))

    op.create_table('catalog_entry',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('catalog_version_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=60), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('classification', sa.String(length=20), nullable=False),
    sa.Column('category', sa.String(length=100), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('format', sa.String(length=20), nullable=False),
    sa.Column('data_items', sa.Text(), nullable=False),
    sa.Column('update_frequency', sa.String(length=20), nullable=False),
    sa.Column('share_type', sa.String(length=20), nullable=False),
    sa.Column('share_conditions', sa.Text(), nullable=False),
    sa.Column('share_reason', sa.Text(), nullable=False),
    sa.Column('share_basis', sa.Text(), nullable=False),
    sa.Column('share_method', sa.String(length=20), nullable=False),
    sa.Column('usage_requirements', sa.Text(), nullable=False),
    sa.Column('materials', sa.Text(), nullable=False),
    sa.Column('open_type', sa.String(length=20), nullable=False),
    sa.Column('open_conditions', sa.Text(), nullable=False),
    sa.Column('open_reason', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('updated_by', sa.String(length=200), nullable=False),
    sa.Column('updated_at', engine.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['catalog_version_id'], ['catalog_version.id'], name=op.f('fk_catalog_entry_catalog_version_id_catalog_version'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_catalog_entry')),
    sa.UniqueConstraint('catalog_version_id', 'code', name='version_code')
    )
    with op.batch_alter_table('catalog_entry', schema=None) as batch_op:
        batch_op.create_index('ix_catalog_entry_code', ['code'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('catalog_entry', schema=None) as batch_op:
        batch_op.drop_index('ix_catalog_entry_code')
    op.drop_table('catalog_entry')
    with op.batch_alter_table('catalog_version', schema=None) as batch_op:
        batch_op.drop_index('uq_catalog_version_one_published')
        batch_op.drop_index('uq_catalog_version_one_draft')
        batch_op.drop_index(batch_op.f('ix_catalog_version_department_id'))
    op.drop_table('catalog_version')
