"""Sign stored incidents again: a release in the error message (`v1.2.3`, `1.2.4`, `2.0.0-rc1`) is now masked as
`VERSION`, as runbooks already showed it. The rule of 0013-0015 kept it, so one failure that outlived a release signed
apart: a new incident per release, not an occurrence of the open one.

As in 0006, 0009, 0010 and 0013, a signature is derived data: this recomputes it with the current rule in
`store.signature` (store/records/resign.py). Downgrade keeps the new signatures: the old rule split one failure by
its release.

Revision ID: 0016
Revises: 0015
"""

from alembic import op

from agent_postmortem.store.records.resign import sign_again

revision = "0016"
down_revision = "0015"


def upgrade() -> None:
    sign_again(op.get_bind())


def downgrade() -> None:
    pass
