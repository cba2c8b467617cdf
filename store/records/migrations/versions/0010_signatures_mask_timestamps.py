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

from alembic import op

from agent_postmortem.store.records.resign import sign_again

revision = "0010"
down_revision = "0009"


def upgrade() -> None:
    sign_again(op.get_bind())


def downgrade() -> None:
    pass
