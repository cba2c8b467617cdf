"""Idempotency keys: a client that retries a capture after a crash or a timeout gets the first result back.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

from agent_postmortem.store.records.schema import UTCDateTime

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    op.create_table(
        "idempotency_keys",
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("incident_pk", sa.Integer, sa.ForeignKey("incidents.pk", ondelete="CASCADE"), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("idempotency_keys")
