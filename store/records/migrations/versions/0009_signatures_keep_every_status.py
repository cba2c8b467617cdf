"""Sign stored incidents again: failure signatures now keep HTTP statuses of every class (a 301 or a 302 after
"HTTP", "status" or "code", before a reason phrase) and the status forms `status_code=404`, `statusCode: 503`,
"a status of 404", "HTTP/1.1 404", which the rule of 0006 masked, so a redirect was an occurrence of a not-found.

As in 0006, a signature is derived data (agent, tool, error type and message, all stored): this recomputes it with
the current rule in `store.signature`, in batches, inside the migration's one transaction (SQLite and PostgreSQL).
Downgrade keeps the new signatures: the old rule merged failures that differ.

Revision ID: 0009
Revises: 0008
"""

from types import SimpleNamespace

import sqlalchemy as sa
from alembic import op

from agent_postmortem.store.signature import failure_signature

revision = "0009"
down_revision = "0008"

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
