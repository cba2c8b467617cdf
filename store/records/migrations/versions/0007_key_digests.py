"""Idempotency keys stored as keyed digests, and change authors redacted.

Keys were redacted before they were stored and compared, so distinct keys could collide. From now on the store keeps
HMAC-SHA256(secret, key) of the key as the client sent it (store/idempotency.py); this migration makes the secret and
turns every stored key into its digest. A key that redaction had left unchanged (UUIDs, `sdk-<hex>`,
`otel-trace:<id>`, `steps-<digest>`: what the SDK, the OTLP importer and the step importer send) is therefore still
recognised when its capture is retried after the upgrade. A key that redaction had rewritten (it holds
`[REDACTED:...]`) cannot be told apart from the other keys it collided with: it is dropped, and a retry of such a
capture is stored anew (or, if it repeats an open incident's failure, counted as one more occurrence).

`action_item_changes.by` was stored as given: it is redacted now, like every other text.

Downgrading keeps the digests (the secret goes): keys stored before the downgrade are no longer recognised.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

from agent_postmortem.store.records.idempotency import SECRET_NAME, digest, new_secret
from agent_postmortem.store.redact import redact

revision = "0007"
down_revision = "0006"


def upgrade() -> None:
    secrets = op.create_table(
        "store_secrets",
        sa.Column("name", sa.String(40), primary_key=True),
        sa.Column("value", sa.String(128), nullable=False),
    )
    secret = new_secret()
    op.bulk_insert(secrets, [{"name": SECRET_NAME, "value": secret}])
    conn = op.get_bind()
    keys = [str(k) for k in conn.execute(sa.text('select "key" from idempotency_keys')).scalars()]
    rewritten = [{"key": k} for k in keys if "[REDACTED:" in k]
    if rewritten:
        conn.execute(sa.text('delete from idempotency_keys where "key" = :key'), rewritten)
    kept = [{"old": k, "new": digest(secret, k)} for k in keys if "[REDACTED:" not in k]
    if kept:
        conn.execute(sa.text('update idempotency_keys set "key" = :new where "key" = :old'), kept)
    authors = [str(b) for b in conn.execute(sa.text('select distinct "by" from action_item_changes')).scalars() if b]
    redacted = [{"old": b, "new": redact(b)} for b in authors]
    changed = [r for r in redacted if r["new"] != r["old"]]
    if changed:
        conn.execute(sa.text('update action_item_changes set "by" = :new where "by" = :old'), changed)


def downgrade() -> None:
    op.drop_table("store_secrets")
