"""The filters of search and list as built from what an interface was given."""

import re

import pytest
from pydantic import ValidationError

from agent_postmortem.store.filters import SearchFilters

END = "T23:59:59.999999+00:00"


@pytest.mark.parametrize(
    ("since", "until", "start", "end"),
    [
        ("2028-02", "2028-02", "2028-02-01T00:00:00+00:00", f"2028-02-29{END}"),  # a leap February
        ("2026", "2026", "2026-01-01T00:00:00+00:00", f"2026-12-31{END}"),
        ("2026-12-15", "2026-12-15", "2026-12-15T00:00:00+00:00", f"2026-12-15{END}"),
        (" 2026-12 ", "2026-12-15T10:00:00Z", "2026-12-01T00:00:00+00:00", "2026-12-15T10:00:00+00:00"),
        ("2026-12-15 ", " 2026-12-15 ", "2026-12-15T00:00:00+00:00", f"2026-12-15{END}"),  # since alone refused it
        (" 2026-12-15T10:00:00Z", "2026-12-15T11:00:00Z ", "2026-12-15T10:00:00+00:00", "2026-12-15T11:00:00+00:00"),
    ],
)
def test_a_month_or_a_year_bounds_the_whole_of_it(since: str, until: str, start: str, end: str) -> None:
    bounds = SearchFilters.of(since=since, until=until).times()
    assert [b.isoformat() for b in bounds if b is not None] == [start, end]


@pytest.mark.parametrize(
    ("until", "said"),
    [
        ("2026-13", "a month is 01 to 12"),
        ("2026-1", "expected an ISO 8601 year (2026), a month (2026-12)"),
        ("1969", "out of range"),
        ("3000-01", "out of range"),
        ("202612", "not a number"),
        ("２０２６-１２", "expected an ISO 8601 year (2026)"),  # full-width digits were read as December 2026
        ("٢٠٢٦", "not a number"),  # and these as the year 2026
        ("2026-1215", "expected an ISO 8601 year (2026)"),  # was "Invalid isoformat string: '2026-1215'"
        ("202612-15", "expected an ISO 8601 year (2026)"),
    ],
)
def test_a_bound_that_is_no_period_is_refused_saying_what_a_bound_is(until: str, said: str) -> None:
    with pytest.raises(ValidationError, match=re.escape(said)):
        SearchFilters.of(until=until)
