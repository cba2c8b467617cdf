"""An owner typed with two spaces in a row or broken over two lines by a client ("Dana  Smith") was another owner
than "Dana Smith" for the owner filter and in the completion per owner. `owner_key` now counts a run of white space as
one space (`store.models.actions.owner_key`); this writes the key again for the stored items.

Revision ID: 0015
Revises: 0014
"""

import sqlalchemy as sa
from alembic import op

from agent_postmortem.store.models.actions import owner_key

revision = "0015"
down_revision = "0014"


def upgrade() -> None:
    conn = op.get_bind()
    owners = [str(o) for o in conn.execute(sa.text("select distinct owner from action_items")).scalars() if o]
    keyed = [{"owner": o, "key": owner_key(o)} for o in owners]
    if keyed:
        conn.execute(sa.text("update action_items set owner_key = :key where owner = :owner"), keyed)


def downgrade() -> None:
    """The old keys are not kept; the filter reads the new ones as well."""
