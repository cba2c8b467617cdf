"""What every stored text and time must be: storable text (no NUL, no lone surrogate), times as UTC in one range,
bounded string types, and the shared strict config that never echoes a rejected value."""

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints


def clean_text(value: str) -> str:
    """Reject text that cannot be stored faithfully: NUL bytes and lone surrogates."""
    if "\x00" in value:
        raise ValueError("contains a NUL character")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("contains an unpaired surrogate") from None
    return value


# Every stored time falls in this range: far-off dates would overflow on conversion to UTC (9999-12-31T23:59-14:00)
# or in date arithmetic later (due dates, windows), so they are refused where they come in.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(3000, 1, 1, tzinfo=UTC)


def aware_utc(value: datetime) -> datetime:
    out_of_range = f"out of range: a time from {EARLIEST.year} up to {LATEST.year} is expected"
    try:
        utc = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except OverflowError:
        raise ValueError(out_of_range) from None
    if not EARLIEST <= utc < LATEST:
        raise ValueError(out_of_range)
    return utc


Title = Annotated[str, Field(min_length=3, max_length=200), AfterValidator(clean_text)]
Short = Annotated[str, Field(max_length=200), AfterValidator(clean_text)]
Body = Annotated[str, Field(max_length=20_000), AfterValidator(clean_text)]
Medium = Annotated[str, Field(max_length=2_000), AfterValidator(clean_text)]
When = Annotated[datetime, AfterValidator(aware_utc)]
# Compared exactly as sent: not stripped, not redacted (the store keeps a keyed digest: store/idempotency.py)
OpaqueKey = Annotated[
    str, StringConstraints(strip_whitespace=False), Field(min_length=8, max_length=200), AfterValidator(clean_text)
]


MAX_CAPTURE_BYTES = 40 * 1024


class Model(BaseModel):
    """Shared config: strict input, values never echoed in validation errors."""

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True, str_strip_whitespace=True)


def utcnow() -> datetime:
    return datetime.now(UTC)
