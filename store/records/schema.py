"""The relational schema: the tables of the record store, as SQLAlchemy Core declares them. The migrations
(migrations/versions) build exactly this; tests/store/records/test_db.py checks it on both engines."""

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores aware datetimes as UTC and always reads them back aware (SQLite drops the zone)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


# A name or title is at most 200 characters as given, but redaction can lengthen it ("a@b.io" becomes
# "[REDACTED:email]"). SQLite never enforced the length; PostgreSQL stores these as text (migration 0005).
Name = String(200).with_variant(Text(), "postgresql")

metadata = MetaData()


def row_key() -> "Column[int]":
    """The surrogate primary key of a table of rows (a Column belongs to one table: one per call)."""
    return Column("pk", Integer, primary_key=True, autoincrement=True)


def part_of(parent: str, name: str = "incident_pk") -> "Column[int]":
    """The indexed key of the row a row belongs to; deleting that row deletes this one."""
    return Column(name, Integer, ForeignKey(f"{parent}.pk", ondelete="CASCADE"), nullable=False, index=True)


incidents = Table(
    "incidents",
    metadata,
    row_key(),
    Column("title", Name, nullable=False),
    Column("category", String(40), nullable=False, index=True),
    Column("severity", String(4), nullable=False, index=True),
    Column("status", String(12), nullable=False, index=True),
    Column("agent", Name, index=True),
    Column("tool", Name, index=True),
    Column("model", Name),
    Column("created_at", UTCDateTime, nullable=False, index=True),
    Column("mitigated_at", UTCDateTime),
    Column("resolved_at", UTCDateTime),
    Column("postmortem_completed", Boolean, nullable=False, default=False),
    Column("content_hash", String(64), nullable=False, index=True),
    Column("signature", String(32), index=True),
    Column("occurrences", Integer, nullable=False, server_default="1"),
    Column("last_seen_at", UTCDateTime),
    Column("body", JSON, nullable=False),
    Column("embedding", LargeBinary),
    Column("embedding_model", String(200)),
    Column("embedding_dim", Integer),
)

timeline_events = Table(
    "timeline_events",
    metadata,
    row_key(),
    part_of("incidents"),
    Column("at", UTCDateTime, nullable=False),
    Column("kind", String(20), nullable=False),
    Column("description", Text, nullable=False),
)

analyses = Table(
    "analyses",
    metadata,
    row_key(),
    part_of("incidents"),
    Column("created_at", UTCDateTime, nullable=False),
    Column("body", JSON, nullable=False),
    # draft, accepted or rejected (also in the body): only accepted analyses feed the knowledge base
    Column("state", String(10), nullable=False, server_default="draft", index=True),
)

action_items = Table(
    "action_items",
    metadata,
    row_key(),
    part_of("incidents"),
    Column("title", Text, nullable=False),
    Column("owner", Name, index=True),
    Column("priority", String(2), nullable=False),
    Column("status", String(12), nullable=False, index=True),
    Column("due_at", UTCDateTime),
    Column("created_at", UTCDateTime, nullable=False),
    Column("completed_at", UTCDateTime),
    # the owner without case (store.models.actions.owner_key), written with the owner: what the owner filter compares
    Column("owner_key", Name, index=True),
)

action_item_changes = Table(
    "action_item_changes",
    metadata,
    row_key(),
    part_of("action_items", "action_pk"),
    Column("at", UTCDateTime, nullable=False),
    Column("field", String(20), nullable=False),
    Column("old", Text),
    Column("new", Text),
    Column("by", Name),
)

# `key` holds a keyed digest of the client's key, never the key itself (records/idempotency.py)
idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("key", String(200), primary_key=True),
    Column("incident_pk", Integer, ForeignKey("incidents.pk", ondelete="CASCADE"), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    # the occurrence a repeat's capture counted (migration 0011); null: the key's capture made the incident
    Column("occurrence", Integer),
)

# Secrets of this database, made by migrations: the key of the idempotency-key digests
store_secrets = Table(
    "store_secrets",
    metadata,
    Column("name", String(40), primary_key=True),
    Column("value", String(128), nullable=False),
)

index_outbox = Table(
    "index_outbox",
    metadata,
    row_key(),
    Column("incident_pk", Integer, nullable=False),
    Column("op", String(10), nullable=False),
)


# PostgreSQL advisory locks are keyed by two integers: this space (b"PM") and one of these names.
