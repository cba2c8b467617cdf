"""An owner written as a handle ("@alice") was another owner than "alice" for the owner filter, in the completion
per owner and on the board. `owner_key` now drops the "@" of a handle (`store.models.actions.owner_key`); this
writes the key again for the stored items (the owner itself is kept as written).

Revision ID: 0017
Revises: 0016
"""

import sqlalchemy as sa
from alembic import op

from agent_postmortem.store.models.actions import owner_key

revision = "0017"
down_revision = "0016"


def upgrade() -> None:
    conn = op.get_bind()
    owners = [str(o) for o in conn.execute(sa.text("select distinct owner from action_items")).scalars() if o]
    keyed = [{"owner": o, "key": owner_key(o)} for o in owners if o.strip().startswith("@")]
    if keyed:
        conn.execute(sa.text("update action_items set owner_key = :key where owner = :owner"), keyed)


def downgrade() -> None:
    """The old keys are not kept; the filter reads the new ones as well."""
