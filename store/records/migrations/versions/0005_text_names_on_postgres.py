"""Names and titles as text on PostgreSQL: redaction can make a 200-character title longer (SQLite never enforced it).

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"

COLUMNS = {"incidents": ("title", "agent", "tool", "model"), "action_items": ("owner",), "action_item_changes": ("by",)}


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, columns in COLUMNS.items():
        for column in columns:  # varchar to text is a catalogue change on PostgreSQL: no table rewrite
            op.alter_column(table, column, type_=sa.Text(), existing_type=sa.String(200))


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, columns in COLUMNS.items():
        for column in columns:
            op.alter_column(table, column, type_=sa.String(200), existing_type=sa.Text())
