"""candidate groups and users kept on the human_task row as well (no extra query per task check)

Revision ID: 0012
Revises: 0011
"""
import json

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("human_task", schema=None) as batch_op:
        batch_op.add_column(sa.Column("candidate_groups", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("candidate_users", sa.JSON(), nullable=True))
    bind = op.get_bind()
    offered: dict[str, dict[str, list[str]]] = {}
    for task_id, kind, value in bind.execute(sa.text(
            "SELECT task_id, kind, value FROM task_candidate ORDER BY task_id, kind, value")):
        offered.setdefault(task_id, {"group": [], "user": []})[kind].append(value)
    for task_id, kinds in offered.items():
        bind.execute(sa.text("UPDATE human_task SET candidate_groups = :g, candidate_users = :u WHERE id = :id"),
                     {"g": json.dumps(kinds["group"]), "u": json.dumps(kinds["user"]), "id": task_id})
    bind.execute(sa.text("UPDATE human_task SET candidate_groups = '[]' WHERE candidate_groups IS NULL"))
    bind.execute(sa.text("UPDATE human_task SET candidate_users = '[]' WHERE candidate_users IS NULL"))


def downgrade() -> None:
    with op.batch_alter_table("human_task", schema=None) as batch_op:
        batch_op.drop_column("candidate_users")
        batch_op.drop_column("candidate_groups")
