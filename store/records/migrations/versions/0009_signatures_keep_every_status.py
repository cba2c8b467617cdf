"""Sign stored incidents again: failure signatures now keep HTTP statuses of every class (a 301 or a 302 after
"HTTP", "status" or "code", before a reason phrase) and the status forms `status_code=404`, `statusCode: 503`,
"a status of 404", "HTTP/1.1 404", which the rule of 0006 masked, so a redirect was an occurrence of a not-found.

As in 0006, a signature is derived data (agent, tool, error type and message, all stored): this recomputes it with
the current rule in `store.signature`, in batches, inside the migration's one transaction (SQLite and PostgreSQL).
Downgrade keeps the new signatures: the old rule merged failures that differ.

Revision ID: 0009
Revises: 0008
"""

from alembic import op

from agent_postmortem.store.records.resign import sign_again

revision = "0009"
down_revision = "0008"


def upgrade() -> None:
    sign_again(op.get_bind())


def downgrade() -> None:
    pass
