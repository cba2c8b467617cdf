"""Owners are matched by a stored key: the owner filter (`actions --owner ärne`, `list_action_items`, the board's
filter) compared lower(owner), and SQLite's lower() folds ASCII letters only (PostgreSQL's too under the C locale), so
"Ärne" and "ärne" were one owner in the completion per owner (grouped in Python) but two for the filter. Each item
now keeps `owner_key` (`store.models.actions.owner_key`: the owner without case, in every script), written by the
store with the owner and indexed; this fills it for the stored items and replaces the index on lower(owner) (0012).

Revision ID: 0014
Revises: 0013
"""

import sqlalchemy as sa
from alembic import op

from agent_postmortem.store.models.actions import owner_key

revision = "0014"
down_revision = "0013"


def upgrade() -> None:
    op.drop_index("ix_action_items_owner_lower", table_name="action_items")
    with op.batch_alter_table("action_items") as batch:
        batch.add_column(sa.Column("owner_key", sa.String(200).with_variant(sa.Text(), "postgresql")))
        batch.create_index("ix_action_items_owner_key", ["owner_key"])
    conn = op.get_bind()
    owners = [str(o) for o in conn.execute(sa.text("select distinct owner from action_items")).scalars() if o]
    if owners:
        keyed = [{"owner": o, "key": owner_key(o)} for o in owners]
        conn.execute(sa.text("update action_items set owner_key = :key where owner = :owner"), keyed)


def downgrade() -> None:
    with op.batch_alter_table("action_items") as batch:
        batch.drop_index("ix_action_items_owner_key")
        batch.drop_column("owner_key")
    op.create_index("ix_action_items_owner_lower", "action_items", [sa.text("lower(owner)")])
