"""Sign stored incidents again: failure signatures now keep digits inside names (pr0cure-check.io, ORA-00942) and
HTTP statuses (a 429 and a 503 are different failures), and mask only ids and free-standing numbers.

A signature is derived data (agent, tool, error type and message, all stored), so this recomputes it with the
current rule in `store.signature`; a later change of the rule re-signs the same way. Downgrade keeps the new
signatures: the old rule merged failures that differ.

Revision ID: 0006
Revises: 0005
"""

from alembic import op

from agent_postmortem.store.records.resign import sign_again

revision = "0006"
down_revision = "0005"


def upgrade() -> None:
    sign_again(op.get_bind())


def downgrade() -> None:
    pass
