"""What every stored text and time must be: storable text (no NUL, no lone surrogate), times as UTC in one range,
bounded string types, and the shared strict config that never echoes a rejected value."""

import calendar
import re
from collections.abc import Callable
from datetime import UTC, date, datetime, time
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    ValidatorFunctionWrapHandler,
    WrapValidator,
)

from agent_postmortem.store.invisible import something_visible


def clean_text(value: str) -> str:
    """Reject text that cannot be stored faithfully: NUL bytes and lone surrogates."""
    if "\x00" in value:
        raise ValueError("contains a NUL character")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("contains an unpaired surrogate") from None
    return value


def storable(text: str) -> str:
    """`text` as the store accepts it, nothing lost: NUL as `\\x00`, lone surrogates as `\\udcff` escapes (what an
    agent's binary data, or a JSON `\\u0000` or `\\udcff`, holds)."""
    return text.replace("\x00", "\\x00").encode("utf-8", "backslashreplace").decode("utf-8")


# Every stored time falls in this range: far-off dates would overflow on conversion to UTC (9999-12-31T23:59-14:00)
# or in date arithmetic later (due dates, windows), so they are refused where they come in.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(3000, 1, 1, tzinfo=UTC)


OUT_OF_RANGE = f"out of range: a time from {EARLIEST.year} up to {LATEST.year} is expected"
NO_SUCH_MONTH = "no such month: a month is 01 to 12"


def aware_utc(value: datetime) -> datetime:
    try:
        utc = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except OverflowError:
        raise ValueError(OUT_OF_RANGE) from None
    if not EARLIEST <= utc < LATEST:
        raise ValueError(OUT_OF_RANGE)
    return utc


Title = Annotated[
    str, Field(min_length=3, max_length=200), AfterValidator(clean_text), BeforeValidator(something_visible)
]
Short = Annotated[str, Field(max_length=200), AfterValidator(clean_text)]
Body = Annotated[str, Field(max_length=20_000), AfterValidator(clean_text)]
Medium = Annotated[str, Field(max_length=2_000), AfterValidator(clean_text)]


_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


# The date a time starts with (2026-12-15, 2026-12-15T10:00:00Z, or the basic form 20261215)
_DATE_PART = re.compile(r"(\d{4})(-?)(\d{2})\2(\d{2})(?=$|[Tt ])", re.ASCII)
_MONTHS = "January February March April May June July August September October November December".split()


def real_day(text: str) -> None:
    """Refuse a date that names no day (2026-02-30, 2026-13-01) with one sentence that says which days there are,
    wherever it comes in: `--since` and `--until` answered it in two different ways, neither saying what was wrong."""
    found = _DATE_PART.match(text.strip())
    if found is None:
        return
    year, month, day = int(found[1]), int(found[3]), int(found[4])
    if year < 1:
        raise ValueError(OUT_OF_RANGE)
    if not 1 <= month <= 12:
        raise ValueError(NO_SUCH_MONTH)
    last = calendar.monthrange(year, month)[1]
    if not 1 <= day <= last:
        raise ValueError(f"no such day: {_MONTHS[month - 1]} {year} has days 01 to {last}")


def iso_text(value: Any) -> Any:
    """A time is ISO 8601: its basic date form (`20261215`) is that day, and any other number, as text or not, is
    refused. Pydantic would read a number as Unix seconds: `--due 20261215` was a due date in August 1970, and
    `at=1.5` a timeline event at 1970-01-01T00:00:01.5. Space around a time is dropped, as a day's or a month's is:
    `--since "2026-12-15 "` was refused while `--until "2026-12-15 "` was taken."""
    text = value.strip() if isinstance(value, str) else value
    if isinstance(text, str):
        real_day(text)
    if isinstance(text, str) and len(text) == 8 and text.isdigit():
        return f"{text[:4]}-{text[4:6]}-{text[6:]}"
    if (isinstance(text, int | float) and not isinstance(text, bool)) or (
        isinstance(text, str) and _NUMBER.fullmatch(text)
    ):
        raise ValueError("a time is ISO 8601 (2026-12-15 or 2026-12-15T10:00:00Z), not a number")
    return text


When = Annotated[datetime, BeforeValidator(iso_text), AfterValidator(aware_utc)]
# 2026-12-15, or its basic form 20261215; not half of each (2026-1215), which `--until` alone read, answering
# Python's "Invalid isoformat string" with the text repeated
_DAY = re.compile(r"\d{4}(-?)\d{2}\1\d{2}", re.ASCII)


def _day_ends_at(last: time) -> Callable[[Any], Any]:
    def day_end(value: Any) -> Any:
        """A day given alone (`2026-12-15`) stands for its end, UTC; a time given is kept as given."""
        if isinstance(value, str) and _DAY.fullmatch(value.strip()):
            real_day(value)
            value = date.fromisoformat(value.strip())
        if isinstance(value, date) and not isinstance(value, datetime):
            return datetime.combine(value, last, tzinfo=UTC)
        return value

    return day_end


DUE_DATE = "an ISO 8601 day (2026-12-15) or time (2026-12-15T10:00:00Z)"


def _due_words(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
    """Text that is no time at all ("tomorrow") is refused saying what a due date is, not with pydantic's "input is
    too short"; a date out of range or a number keeps its own sentence."""
    try:
        return handler(value)
    except ValidationError as e:
        if all(x["type"] == "value_error" for x in e.errors()):
            raise
        raise ValueError(f"expected {DUE_DATE}") from None


# A due date given as a day is due by the end of it: an item due today is not overdue the moment it is added.
DueBy = Annotated[When, BeforeValidator(_day_ends_at(time(23, 59, 59))), WrapValidator(_due_words)]
# A year (2026) or a month (2026-12) given alone, in ASCII digits: `\d` took full-width or Arabic-Indic digits for a
# year, though the same digits in a day or a time are refused.
_PERIOD = re.compile(r"(\d{4})(?:-(\d{2}))?", re.ASCII)
RANGE_BOUND = "an ISO 8601 year (2026), a month (2026-12), a day (2026-12-15) or a time (2026-12-15T10:00:00Z)"


def _period_edge(year: int, month: int | None, *, end: bool) -> datetime:
    """The first instant of a year or a month, or (`end`) its last, UTC."""
    if not EARLIEST.year <= year < LATEST.year:
        raise ValueError(OUT_OF_RANGE)
    if month is not None and not 1 <= month <= 12:
        raise ValueError(NO_SUCH_MONTH)
    if not end:
        return datetime(year, month or 1, 1, tzinfo=UTC)
    month = month or 12
    return datetime.combine(date(year, month, calendar.monthrange(year, month)[1]), time.max, tzinfo=UTC)


def _range_bound(*, end: bool) -> Callable[[Any, ValidatorFunctionWrapHandler], Any]:
    def bound(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        """A year or a month given alone stands for the whole of it (`--since 2026-12` from December's first
        instant, `--until 2026-12` to its last); text that is no time at all is refused saying what a bound is."""
        found = _PERIOD.fullmatch(value.strip()) if isinstance(value, str) else None
        if found is not None:
            value = _period_edge(int(found[1]), int(found[2]) if found[2] else None, end=end)
        try:
            return handler(value)
        except ValidationError as e:
            if all(x["type"] == "value_error" for x in e.errors()):  # out of range, a number: their own sentences
                raise
            raise ValueError(f"expected {RANGE_BOUND}") from None

    return bound


# The start of a range (a search's `since`): a year or a month given alone starts at its first instant.
Since = Annotated[When, WrapValidator(_range_bound(end=False))]
# The end of a range given as a day includes that day (`--until 2026-12-01` finds what was created on it), and a
# month or a year all of it.
Through = Annotated[When, BeforeValidator(_day_ends_at(time.max)), WrapValidator(_range_bound(end=True))]
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
