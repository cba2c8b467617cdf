"""Reviewed analyses: each analysis row says whether a person accepted or rejected it (`state`), so that what feeds
the knowledge base (similar incidents' root causes, runbooks, reviews, regression cases, later drafts) can be the
accepted analyses alone. The state was in the JSON body only ("draft" or "accepted"); it is copied from there.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"

BATCH = 1_000


def upgrade() -> None:
    with op.batch_alter_table("analyses") as batch:
        batch.add_column(sa.Column("state", sa.String(10), nullable=False, server_default="draft"))
        batch.create_index("ix_analyses_state", ["state"])
    analyses = sa.table(
        "analyses", sa.column("pk", sa.Integer), sa.column("state", sa.String), sa.column("body", sa.JSON)
    )
    conn = op.get_bind()
    last = 0
    while rows := conn.execute(
        sa.select(analyses.c.pk, analyses.c.body).where(analyses.c.pk > last).order_by(analyses.c.pk).limit(BATCH)
    ).all():
        accepted = [r.pk for r in rows if isinstance(r.body, dict) and r.body.get("state") == "accepted"]
        if accepted:
            conn.execute(analyses.update().where(analyses.c.pk.in_(accepted)).values(state="accepted"))
        last = rows[-1].pk


def downgrade() -> None:
    with op.batch_alter_table("analyses") as batch:
        batch.drop_index("ix_analyses_state")
        batch.drop_column("state")
