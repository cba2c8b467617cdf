"""Sign every stored incident again with the current rule of `store.signature`: what a migration runs when that rule
changes (0006, 0009, 0010, 0013, 0016). A signature is derived data (agent, tool, error type and message, all
stored), so it is recomputed in batches, on the migration's connection and inside its one transaction, on SQLite and
PostgreSQL."""

from types import SimpleNamespace

import sqlalchemy as sa

from agent_postmortem.store.signature import failure_signature

BATCH = 1_000

_INCIDENTS = sa.table(
    "incidents",
    sa.column("pk", sa.Integer),
    sa.column("agent", sa.Text),
    sa.column("tool", sa.Text),
    sa.column("signature", sa.String),
    sa.column("body", sa.JSON),
)


def sign_again(conn: sa.Connection) -> None:
    c = _INCIDENTS.c
    last = 0
    while rows := conn.execute(
        sa.select(c.pk, c.agent, c.tool, c.signature, c.body)
        .where(c.signature.is_not(None), c.pk > last)
        .order_by(c.pk)
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
                conn.execute(_INCIDENTS.update().where(c.pk == row.pk).values(signature=signature))
        last = rows[-1].pk
