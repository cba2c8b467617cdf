"""Occurrences: repeated captures of the same failure (same signature within a window) count on one incident.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

from agent_postmortem.store.records.schema import UTCDateTime

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    with op.batch_alter_table("incidents") as batch:
        batch.add_column(sa.Column("signature", sa.String(32)))
        batch.add_column(sa.Column("occurrences", sa.Integer, nullable=False, server_default="1"))
        batch.add_column(sa.Column("last_seen_at", UTCDateTime))
        batch.create_index("ix_incidents_signature", ["signature"])


def downgrade() -> None:
    with op.batch_alter_table("incidents") as batch:
        batch.drop_index("ix_incidents_signature")
        batch.drop_column("last_seen_at")
        batch.drop_column("occurrences")
        batch.drop_column("signature")
