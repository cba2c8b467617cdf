"""Idempotency keys say what their capture did: made the incident, or counted its n-th occurrence (a repeat of an
open incident's failure signature). A retry of a repeat's key was answered as a retry of a first capture (a new
incident, "novel", its first capture's triage) because the key kept only the incident; it now gets the repeat's
answer again ("occurrence n of ...").

Keys stored before this migration are read from the timeline: a key stored at a time other than its incident's
creation was a repeat's (a first capture's key is stored at the incident's creation time), and its occurrence is one
more than the "Occurred again: " notes of its incident up to that time. A repeat stored at its incident's very
creation time cannot be told from the first capture and stays one.

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"

OCCURRED_AGAIN = "Occurred again: "  # the note a repeat's capture writes (server/render/timeline.py), as of 0011

COUNTED = """
update idempotency_keys set occurrence = 1 + (
    select count(*) from timeline_events e
    where e.incident_pk = idempotency_keys.incident_pk and e.kind = 'note'
      and e.description like :note and e.at <= idempotency_keys.created_at
)
where created_at <> (select i.created_at from incidents i where i.pk = idempotency_keys.incident_pk)
"""


def upgrade() -> None:
    with op.batch_alter_table("idempotency_keys") as batch:
        batch.add_column(sa.Column("occurrence", sa.Integer))
    op.get_bind().execute(sa.text(COUNTED), {"note": OCCURRED_AGAIN + "%"})


def downgrade() -> None:
    with op.batch_alter_table("idempotency_keys") as batch:
        batch.drop_column("occurrence")
