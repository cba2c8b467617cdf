"""Sign stored incidents again: a number right after a timestamp's hyphen ("12:00:00-30 retries") is now masked as a
number (`TIME-N`). The rule of 0010-0012 left it as it was (`TIME-30`), so the same failure with another count after its
time signed apart: a new incident per capture, not an occurrence.

As in 0006, 0009 and 0010, a signature is derived data: this recomputes it with the current rule in
`store.signature` (store/records/resign.py). Downgrade keeps the new signatures: the old rule split one failure by
the count after its time.

Revision ID: 0013
Revises: 0012
"""

from alembic import op

from agent_postmortem.store.records.resign import sign_again

revision = "0013"
down_revision = "0012"


def upgrade() -> None:
    sign_again(op.get_bind())


def downgrade() -> None:
    pass
