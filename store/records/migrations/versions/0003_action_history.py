"""Action-item history: every change to an item's status, owner, priority, due date or title, with when and by whom.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

from agent_postmortem.store.records.schema import UTCDateTime

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    op.create_table(
        "action_item_changes",
        sa.Column("pk", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "action_pk", sa.Integer, sa.ForeignKey("action_items.pk", ondelete="CASCADE"), nullable=False, index=True
        ),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.Column("field", sa.String(20), nullable=False),
        sa.Column("old", sa.Text),
        sa.Column("new", sa.Text),
        sa.Column("by", sa.String(200)),
    )


def downgrade() -> None:
    op.drop_table("action_item_changes")
