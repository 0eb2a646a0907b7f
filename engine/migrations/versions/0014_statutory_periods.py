"""statutory periods (a party's obligation under one article, watched once per period), the periods
the regulation times that had none, the document behind a rule set, grant revocation basis and the
consumer's expiry notice

Revision ID: 0014
Revises: 0013
"""
import json

import sqlalchemy as sa
from alembic import op

import engine.models

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

# Lengths of the periods docs/deadlines.md lists that the rule sets seeded by 0002 did not have yet
# (values marked design in the domain design: the county's choice, changed by a new rule-set version).
ADDED_PERIODS = {
    "supplement_days": 10,        # arts. 14, 16 (design): the applicant supplies materials
    "catalog_rework_days": 5,     # art. 9 (design): a catalog update the authority returned
    "ordered_grant_days": 5,      # art. 14 para. 3 (design): grant after the authority's order
    "correction_days": 10,        # arts. 13, 19 (design): correct data found wrong
    "verify_days": 5,             # art. 31 (design): the authority checks a rectification report
    "rework_days": 5,             # art. 31 (design): rework a report the authority did not accept
    "authority_decide_days": 5,   # arts. 9, 14, 19, 31 (design): the authority decides
    "notice_days": 5,             # art. 31 (design): the authority issues the rectification notice
    "grant_expiry_notice_days": 10,  # art. 14 (design): tell the consumer before a grant expires
}


def upgrade() -> None:
    op.create_table(
        "statutory_period",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("party", sa.String(length=30), nullable=False),
        sa.Column("department", sa.String(length=40), nullable=True),
        sa.Column("article", sa.String(length=40), nullable=False),
        sa.Column("rule", sa.String(length=100), nullable=False),
        sa.Column("days", sa.Integer(), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("due_at", engine.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("provisional", sa.Boolean(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("opened_at", engine.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("closed_at", engine.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("reminded_at", engine.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("overdue_at", engine.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("supervision_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["case.id"], name=op.f("fk_statutory_period_case_id_case"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_statutory_period")),
    )
    with op.batch_alter_table("statutory_period", schema=None) as batch_op:
        batch_op.create_index("ix_statutory_period_case_name", ["case_id", "name", "seq"], unique=False)
        batch_op.create_index("ix_statutory_period_open", ["state", "party", "due_at"], unique=False)
    with op.batch_alter_table("supervision_item", schema=None) as batch_op:
        batch_op.add_column(sa.Column("period_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_supervision_item_period_id"), ["period_id"], unique=False)
        batch_op.create_foreign_key(batch_op.f("fk_supervision_item_period_id_statutory_period"),
                                    "statutory_period", ["period_id"], ["id"])
    with op.batch_alter_table("rule_set", schema=None) as batch_op:
        batch_op.add_column(sa.Column("document", sa.String(length=500), nullable=False, server_default=""))
    with op.batch_alter_table("share_grant", schema=None) as batch_op:
        batch_op.add_column(sa.Column("revocation_basis", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("expiry_notice_at", engine.models.UTCDateTime(timezone=True), nullable=True))
    _complete_rule_sets()


def _complete_rule_sets() -> None:
    """Give every rule set the lengths it lacks (design defaults); the lengths it has stay as they are,
    so no running case's period changes."""
    bind = op.get_bind()
    for row_id, periods, title in bind.execute(sa.text("SELECT id, periods, title FROM rule_set")).all():
        values = json.loads(periods)
        values.update({k: v for k, v in ADDED_PERIODS.items() if k not in values})
        bind.execute(sa.text("UPDATE rule_set SET periods = :p, document = :d WHERE id = :i"),
                     {"p": json.dumps(values), "d": title or "", "i": row_id})


def downgrade() -> None:
    with op.batch_alter_table("share_grant", schema=None) as batch_op:
        batch_op.drop_column("expiry_notice_at")
        batch_op.drop_column("revocation_basis")
    with op.batch_alter_table("rule_set", schema=None) as batch_op:
        batch_op.drop_column("document")
    with op.batch_alter_table("supervision_item", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_supervision_item_period_id_statutory_period"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_supervision_item_period_id"))
        batch_op.drop_column("period_id")
    with op.batch_alter_table("statutory_period", schema=None) as batch_op:
        batch_op.drop_index("ix_statutory_period_open")
        batch_op.drop_index("ix_statutory_period_case_name")
    op.drop_table("statutory_period")
