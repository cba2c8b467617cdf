"""Initial schema: incidents with their embeddings, timeline, analyses, action items, index outbox.

Revision ID: 0001
"""

import sqlalchemy as sa
from alembic import op

from agent_postmortem.store.records.schema import UTCDateTime

revision = "0001"
down_revision = None


def upgrade() -> None:
    op.create_table(
        "incidents",
        sa.Column("pk", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("category", sa.String(40), nullable=False, index=True),
        sa.Column("severity", sa.String(4), nullable=False, index=True),
        sa.Column("status", sa.String(12), nullable=False, index=True),
        sa.Column("agent", sa.String(200), index=True),
        sa.Column("tool", sa.String(200), index=True),
        sa.Column("model", sa.String(200)),
        sa.Column("created_at", UTCDateTime, nullable=False, index=True),
        sa.Column("mitigated_at", UTCDateTime),
        sa.Column("resolved_at", UTCDateTime),
        sa.Column("postmortem_completed", sa.Boolean, nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False, index=True),
        sa.Column("body", sa.JSON, nullable=False),
        sa.Column("embedding", sa.LargeBinary),
        sa.Column("embedding_model", sa.String(200)),
        sa.Column("embedding_dim", sa.Integer),
    )
    op.create_table(
        "timeline_events",
        sa.Column("pk", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "incident_pk", sa.Integer, sa.ForeignKey("incidents.pk", ondelete="CASCADE"), nullable=False, index=True
        ),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
    )
    op.create_table(
        "analyses",
        sa.Column("pk", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "incident_pk", sa.Integer, sa.ForeignKey("incidents.pk", ondelete="CASCADE"), nullable=False, index=True
        ),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("body", sa.JSON, nullable=False),
    )
    op.create_table(
        "action_items",
        sa.Column("pk", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "incident_pk", sa.Integer, sa.ForeignKey("incidents.pk", ondelete="CASCADE"), nullable=False, index=True
        ),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("owner", sa.String(200), index=True),
        sa.Column("priority", sa.String(2), nullable=False),
        sa.Column("status", sa.String(12), nullable=False, index=True),
        sa.Column("due_at", UTCDateTime),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("completed_at", UTCDateTime),
    )
    op.create_table(
        "index_outbox",
        sa.Column("pk", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("incident_pk", sa.Integer, nullable=False),
        sa.Column("op", sa.String(10), nullable=False),
    )


def downgrade() -> None:
    for name in ("index_outbox", "action_items", "analyses", "timeline_events", "incidents"):
        op.drop_table(name)
