"""An index on lower(owner): action items are filtered by owner ignoring case (`actions --owner dana`,
`list_action_items`, the board's filter), comparing lower(owner), which the index on the owner as spelled cannot
serve, so every such read scanned the whole table.

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"


def upgrade() -> None:
    op.create_index("ix_action_items_owner_lower", "action_items", [sa.text("lower(owner)")])


def downgrade() -> None:
    op.drop_index("ix_action_items_owner_lower", table_name="action_items")
