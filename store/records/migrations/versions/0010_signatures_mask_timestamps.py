"""Sign stored incidents again: failure signatures now mask a timestamp as one unit (`TIME`): ISO 8601
("2026-07-01T00:05:14Z"), what loggers print ("2026-07-01 00:05:14,123", "Jul 01 00:05:14"), HTTP dates. The rule of
0009 masked only its free-standing parts, so the date, the hour and the seconds stayed and a failure that repeats
with its time in the message signed apart each time: a new incident per capture, not an occurrence.

As in 0006 and 0009, a signature is derived data (agent, tool, error type and message, all stored): this recomputes
it with the current rule in `store.signature`, in batches, inside the migration's one transaction (SQLite and
PostgreSQL). Downgrade keeps the new signatures: the old rule split one failure by the time it was seen.

Revision ID: 0010
Revises: 0009
"""

from types import SimpleNamespace

import sqlalchemy as sa
from alembic import op

from agent_postmortem.store.signature import failure_signature

revision = "0010"
down_revision = "0009"

BATCH = 1_000


def upgrade() -> None:
    incidents = sa.table(
        "incidents",
        sa.column("pk", sa.Integer),
        sa.column("agent", sa.Text),
        sa.column("tool", sa.Text),
        sa.column("signature", sa.String),
        sa.column("body", sa.JSON),
    )
    conn = op.get_bind()
    last = 0
    while rows := conn.execute(
        sa.select(incidents.c.pk, incidents.c.agent, incidents.c.tool, incidents.c.signature, incidents.c.body)
        .where(incidents.c.signature.is_not(None), incidents.c.pk > last)
        .order_by(incidents.c.pk)
        .limit(BATCH)
    ).all():
        for row in rows:
            body = row.body or {}
            fields = SimpleNamespace(
                agent=row.agent,
                tool=row.tool,
                error_type=body.get("error_type"),
                error_message=body.get("error_message"),
            )
            signature = failure_signature(fields)
            if signature != row.signature:
                conn.execute(incidents.update().where(incidents.c.pk == row.pk).values(signature=signature))
        last = rows[-1].pk


def downgrade() -> None:
    pass
