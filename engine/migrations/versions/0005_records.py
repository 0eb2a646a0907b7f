"""case records: share applications, grants, objections, inconsistency reports, violations,
supervision items (arts. 14, 17, 18, 19, 31)

Revision ID: 0005
Revises: 0003
Create Date: 2026-11-27 03:00:00.000000

Branches from 0003 beside 0004 (catalog); ``engine.migrate.upgrade`` upgrades all heads. Resources are
referenced by ``resource_code`` and the provider department, not by a foreign key to catalog tables.
"""
from alembic import op
import sqlalchemy as sa
import engine.models


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('inconsistency_report',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=True),
    sa.Column('reporter', sa.String(length=200), nullable=False),
    sa.Column('reporter_department_id', sa.Integer(), nullable=True),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('reported_at', engine.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('outcome', sa.String(length=20), nullable=True),
    sa.Column('decision', sa.Text(), nullable=True),
    sa.Column('decided_by', sa.String(length=200), nullable=True),
    sa.Column('decided_at', engine.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['case.id'], name=op.f('fk_inconsistency_report_case_id_case')),
    sa.ForeignKeyConstraint(['reporter_department_id'], ['department.id'], name=op.f('fk_inconsistency_report_reporter_department_id_department')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inconsistency_report'))
    )
    with op.batch_alter_table('inconsistency_report', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_inconsistency_report_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_inconsistency_report_status'), ['status'], unique=False)

    op.create_table('objection',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('receipt_code', sa.String(length=12), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=True),
    sa.Column('objector_kind', sa.String(length=30), nullable=False),
    sa.Column('objector_department_id', sa.Integer(), nullable=True),
    sa.Column('objector_name', sa.String(length=200), nullable=False),
    sa.Column('contact_phone', sa.String(length=50), nullable=False),
    sa.Column('contact_email', sa.String(length=200), nullable=False),
    sa.Column('resource_code', sa.String(length=40), nullable=False),
    sa.Column('provider_department_id', sa.Integer(), nullable=False),
    sa.Column('record_ref', sa.String(length=500), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('evidence', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('received_by', sa.String(length=200), nullable=False),
    sa.Column('received_at', engine.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('outcome', sa.String(length=20), nullable=True),
    sa.Column('answer', sa.Text(), nullable=True),
    sa.Column('correction', sa.Text(), nullable=True),
    sa.Column('answered_by', sa.String(length=200), nullable=True),
    sa.Column('answered_at', engine.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('extension_days', sa.Integer(), nullable=True),
    sa.Column('extension_reason', sa.Text(), nullable=True),
    sa.Column('extension_requested_by', sa.String(length=200), nullable=True),
    sa.Column('extension_requested_at', engine.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('extension_approved', sa.Boolean(), nullable=True),
    sa.Column('extension_decided_by', sa.String(length=200), nullable=True),
    sa.Column('extension_decided_at', engine.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['case.id'], name=op.f('fk_objection_case_id_case')),
    sa.ForeignKeyConstraint(['objector_department_id'], ['department.id'], name=op.f('fk_objection_objector_department_id_department')),
    sa.ForeignKeyConstraint(['provider_department_id'], ['department.id'], name=op.f('fk_objection_provider_department_id_department')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_objection')),
    sa.UniqueConstraint('receipt_code', name=op.f('uq_objection_receipt_code'))
    )
    with op.batch_alter_table('objection', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_objection_case_id'), ['case_id'], unique=False)
        batch_op.create_index('ix_objection_provider_status', ['provider_department_id', 'status'], unique=False)

    op.create_table('share_grant',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=True),
    sa.Column('consumer_department_id', sa.Integer(), nullable=False),
    sa.Column('resource_code', sa.String(length=40), nullable=False),
    sa.Column('provider_department_id', sa.Integer(), nullable=False),
    sa.Column('data_items', sa.JSON(), nullable=False),
    sa.Column('scenario', sa.Text(), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=False),
    sa.Column('valid_until', sa.Date(), nullable=False),
    sa.Column('usage_limits', sa.Text(), nullable=False),
    sa.Column('basis', sa.Text(), nullable=False),
    sa.Column('approved_by', sa.String(length=200), nullable=False),
    sa.Column('approved_at', engine.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('expired_at', engine.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('revoked_by', sa.String(length=200), nullable=True),
    sa.Column('revoked_at', engine.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('revocation_reason', sa.Text(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint('valid_until >= valid_from', name=op.f('ck_share_grant_period')),
    sa.ForeignKeyConstraint(['case_id'], ['case.id'], name=op.f('fk_share_grant_case_id_case')),
    sa.ForeignKeyConstraint(['consumer_department_id'], ['department.id'], name=op.f('fk_share_grant_consumer_department_id_department')),
    sa.ForeignKeyConstraint(['provider_department_id'], ['department.id'], name=op.f('fk_share_grant_provider_department_id_department')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_share_grant'))
    )
    with op.batch_alter_table('share_grant', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_share_grant_case_id'), ['case_id'], unique=False)
        batch_op.create_index('ix_share_grant_consumer_resource', ['consumer_department_id', 'resource_code', 'status'], unique=False)
        batch_op.create_index(batch_op.f('ix_share_grant_provider_department_id'), ['provider_department_id'], unique=False)
        batch_op.create_index('ix_share_grant_status_until', ['status', 'valid_until'], unique=False)

    op.create_table('violation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=True),
    sa.Column('department_id', sa.Integer(), nullable=False),
    sa.Column('item', sa.Integer(), nullable=False),
    sa.Column('evidence', sa.Text(), nullable=False),
    sa.Column('source', sa.String(length=30), nullable=False),
    sa.Column('source_case_id', sa.Integer(), nullable=True),
    sa.Column('source_task_id', sa.String(length=36), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('deadline', sa.Date(), nullable=True),
    sa.Column('recorded_by', sa.String(length=200), nullable=False),
    sa.Column('recorded_at', engine.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', engine.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint('item BETWEEN 1 AND 8', name=op.f('ck_violation_art31_item')),
    sa.ForeignKeyConstraint(['case_id'], ['case.id'], name=op.f('fk_violation_case_id_case')),
    sa.ForeignKeyConstraint(['department_id'], ['department.id'], name=op.f('fk_violation_department_id_department')),
    sa.ForeignKeyConstraint(['source_case_id'], ['case.id'], name=op.f('fk_violation_source_case_id_case')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_violation'))
    )
    with op.batch_alter_table('violation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_violation_case_id'), ['case_id'], unique=False)
        batch_op.create_index('ix_violation_department_status', ['department_id', 'status'], unique=False)

    op.create_table('inconsistency_party',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('report_id', sa.Integer(), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=False),
    sa.Column('resource_code', sa.String(length=40), nullable=False),
    sa.Column('position', sa.Text(), nullable=True),
    sa.Column('agreed', sa.Boolean(), nullable=True),
    sa.Column('position_by', sa.String(length=200), nullable=True),
    sa.Column('position_at', engine.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('must_correct', sa.Boolean(), nullable=False),
    sa.Column('correction_note', sa.Text(), nullable=True),
    sa.Column('corrected_by', sa.String(length=200), nullable=True),
    sa.Column('corrected_at', engine.models.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['department_id'], ['department.id'], name=op.f('fk_inconsistency_party_department_id_department')),
    sa.ForeignKeyConstraint(['report_id'], ['inconsistency_report.id'], name=op.f('fk_inconsistency_party_report_id_inconsistency_report'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inconsistency_party')),
    sa.UniqueConstraint('report_id', 'department_id', 'resource_code', name='uq_inconsistency_party_report_department_resource')
    )
    with op.batch_alter_table('inconsistency_party', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_inconsistency_party_department_id'), ['department_id'], unique=False)

    op.create_table('share_application',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=True),
    sa.Column('consumer_department_id', sa.Integer(), nullable=False),
    sa.Column('resource_code', sa.String(length=40), nullable=False),
    sa.Column('provider_department_id', sa.Integer(), nullable=False),
    sa.Column('data_items', sa.JSON(), nullable=False),
    sa.Column('scenario', sa.Text(), nullable=False),
    sa.Column('period_from', sa.Date(), nullable=False),
    sa.Column('period_until', sa.Date(), nullable=False),
    sa.Column('materials', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('submitted_by', sa.String(length=200), nullable=False),
    sa.Column('submitted_at', engine.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('decided_by', sa.String(length=200), nullable=True),
    sa.Column('decided_at', engine.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('refusal_reason', sa.Text(), nullable=True),
    sa.Column('refusal_basis', sa.Text(), nullable=True),
    sa.Column('grant_id', sa.Integer(), nullable=True),
    sa.Column('coordination_outcome', sa.String(length=20), nullable=True),
    sa.Column('coordination_note', sa.Text(), nullable=True),
    sa.Column('coordinated_by', sa.String(length=200), nullable=True),
    sa.Column('coordinated_at', engine.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['case.id'], name=op.f('fk_share_application_case_id_case')),
    sa.ForeignKeyConstraint(['consumer_department_id'], ['department.id'], name=op.f('fk_share_application_consumer_department_id_department')),
    sa.ForeignKeyConstraint(['grant_id'], ['share_grant.id'], name=op.f('fk_share_application_grant_id_share_grant')),
    sa.ForeignKeyConstraint(['provider_department_id'], ['department.id'], name=op.f('fk_share_application_provider_department_id_department')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_share_application'))
    )
    with op.batch_alter_table('share_application', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_share_application_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_share_application_consumer_department_id'), ['consumer_department_id'], unique=False)
        batch_op.create_index('ix_share_application_provider_status', ['provider_department_id', 'status'], unique=False)

    op.create_table('supervision_item',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('human_task_id', sa.String(length=36), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.Column('created_at', engine.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('possible_violation_item', sa.Integer(), nullable=False),
    sa.Column('confirmed', sa.Boolean(), nullable=False),
    sa.Column('violation_id', sa.Integer(), nullable=True),
    sa.Column('confirmed_by', sa.String(length=200), nullable=True),
    sa.Column('confirmed_at', engine.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('resolution', sa.Text(), nullable=True),
    sa.Column('resolved_by', sa.String(length=200), nullable=True),
    sa.Column('resolved_at', engine.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['case.id'], name=op.f('fk_supervision_item_case_id_case')),
    sa.ForeignKeyConstraint(['department_id'], ['department.id'], name=op.f('fk_supervision_item_department_id_department')),
    sa.ForeignKeyConstraint(['violation_id'], ['violation.id'], name=op.f('fk_supervision_item_violation_id_violation')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_supervision_item')),
    sa.UniqueConstraint('human_task_id', name=op.f('uq_supervision_item_human_task_id'))
    )
    with op.batch_alter_table('supervision_item', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_supervision_item_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_supervision_item_department_id'), ['department_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_supervision_item_status'), ['status'], unique=False)

    op.create_table('violation_step',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('violation_id', sa.Integer(), nullable=False),
    sa.Column('step', sa.String(length=20), nullable=False),
    sa.Column('at', engine.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=200), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('deadline', sa.Date(), nullable=True),
    sa.ForeignKeyConstraint(['violation_id'], ['violation.id'], name=op.f('fk_violation_step_violation_id_violation'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_violation_step'))
    )
    with op.batch_alter_table('violation_step', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_violation_step_violation_id'), ['violation_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('violation_step', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_violation_step_violation_id'))

    op.drop_table('violation_step')
    with op.batch_alter_table('supervision_item', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_supervision_item_status'))
        batch_op.drop_index(batch_op.f('ix_supervision_item_department_id'))
        batch_op.drop_index(batch_op.f('ix_supervision_item_case_id'))

    op.drop_table('supervision_item')
    with op.batch_alter_table('share_application', schema=None) as batch_op:
        batch_op.drop_index('ix_share_application_provider_status')
        batch_op.drop_index(batch_op.f('ix_share_application_consumer_department_id'))
        batch_op.drop_index(batch_op.f('ix_share_application_case_id'))

    op.drop_table('share_application')
    with op.batch_alter_table('inconsistency_party', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inconsistency_party_department_id'))

    op.drop_table('inconsistency_party')
    with op.batch_alter_table('violation', schema=None) as batch_op:
        batch_op.drop_index('ix_violation_department_status')
        batch_op.drop_index(batch_op.f('ix_violation_case_id'))

    op.drop_table('violation')
    with op.batch_alter_table('share_grant', schema=None) as batch_op:
        batch_op.drop_index('ix_share_grant_status_until')
        batch_op.drop_index(batch_op.f('ix_share_grant_provider_department_id'))
        batch_op.drop_index('ix_share_grant_consumer_resource')
        batch_op.drop_index(batch_op.f('ix_share_grant_case_id'))

    op.drop_table('share_grant')
    with op.batch_alter_table('objection', schema=None) as batch_op:
        batch_op.drop_index('ix_objection_provider_status')
        batch_op.drop_index(batch_op.f('ix_objection_case_id'))

    op.drop_table('objection')
    with op.batch_alter_table('inconsistency_report', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inconsistency_report_status'))
        batch_op.drop_index(batch_op.f('ix_inconsistency_report_case_id'))

    op.drop_table('inconsistency_report')
