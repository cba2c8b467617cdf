"""Idempotency keys are opaque: compared exactly as the client sent them, never rewritten.

Redacting them (as every other text is) made distinct keys one: `retry-alice@example.com` and `retry-bob@example.com`
both became `[REDACTED:email]`, and Bob's capture was answered as a replay of Alice's. A key may still carry a
secret or personal data, so the store keeps only a keyed digest of it: HMAC-SHA256 under a random secret that
migration 0007 puts in the `store_secrets` table (one per database, or per team schema, shared by every replica on
it). The digest hides the key from whoever reads the table; whoever holds the whole database can still test a
guess, as with any lookup of an exact value.
"""

import hashlib
import hmac
import secrets
from typing import NamedTuple

from sqlalchemy import Engine, insert, select
from sqlalchemy.exc import IntegrityError

from agent_postmortem.store.records import schema

SECRET_NAME = "idempotency_key"


class KnownKey(NamedTuple):
    """What an idempotency key's capture did: made `incident_id` (occurrence None) or counted its n-th occurrence."""

    incident_id: str
    occurrence: int | None


def new_secret() -> str:
    return secrets.token_hex(32)


def digest(secret: str, key: str) -> str:
    return hmac.new(secret.encode("ascii"), key.encode("utf-8"), hashlib.sha256).hexdigest()


class KeyDigests:
    """The digests of one database's keys (its secret is read once)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._secret: str | None = None

    def __call__(self, key: str) -> str:
        return digest(self.secret(), key)

    def secret(self) -> str:
        if self._secret is None:
            self._secret = self._read() or self._create()
        return self._secret

    def _read(self) -> str | None:
        table = schema.store_secrets
        with self.engine.connect() as conn:
            value = conn.execute(select(table.c.value).where(table.c.name == SECRET_NAME)).scalar()
        return None if value is None else str(value)

    def _create(self) -> str:
        """Only when the migration's secret was deleted by hand: keys stored before then are no longer recognised."""
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(schema.store_secrets).values(name=SECRET_NAME, value=new_secret()))
        except IntegrityError:  # another process made it first
            pass
        found = self._read()
        assert found is not None
        return found
