"""What the pages read, through the service's public methods only: the one place to change when they move.

Form and query values are checked here (choices against their fixed lists, dates parsed, text bounded) before any
reaches the service; a rejected value is named, never echoed."""

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, cast, get_args

from pydantic import TypeAdapter, ValidationError

from agent_postmortem.errors import validation_problems
from agent_postmortem.store.errors import ActionItemNotFound, IncidentNotFound, InvalidId, StoreError
from agent_postmortem.store.filters import ListOrder, SearchFilters
from agent_postmortem.store.ids import INCIDENT_PREFIX, written_id
from agent_postmortem.store.invisible import NOTHING_VISIBLE
from agent_postmortem.store.models import RANGE_BOUND, Category, Severity, Since, Status, Through

if TYPE_CHECKING:
    from agent_postmortem.service.facade import PostmortemService
    from agent_postmortem.service.results import EffectivenessReport, PatternList
    from agent_postmortem.store.models import Incident

PER_PAGE = 25
PATTERNS = 200  # the most patterns a page shows (largest first)
MAX_PAGE = 400  # 10,000 rows deep: a search past that is a different question
SORTS: dict[str, str] = {
    "newest": "newest first",
    "oldest": "oldest first",
    "last_seen": "last seen",
    "occurrences": "most occurrences",
    "severity": "most severe",
}
CHOICES: dict[str, tuple[str, ...]] = {
    "category": tuple(c.value for c in Category),
    "severity": get_args(Severity),
    "status": get_args(Status),
    "sort": tuple(SORTS),
}
TEXT_FILTERS = ("agent", "tool")
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")  # what a date picker sends and shows


class FormError(ValueError):
    """A form or query value that cannot be used; the message names the field, never the value."""

    status = 400


class EditConflict(FormError):
    """A form that would overwrite a change made since its page was shown."""

    status = 409


@dataclass(frozen=True)
class Filters:
    q: str = ""
    category: str = ""
    severity: str = ""
    status: str = ""
    agent: str = ""
    tool: str = ""
    since: str = ""
    until: str = ""
    sort: str = "newest"
    page: int = 1

    def service_filters(self) -> SearchFilters:
        names = ("category", "severity", "status", *TEXT_FILTERS)
        values: dict[str, Any] = {k: getattr(self, k) for k in names}
        # named as the form labels them (From, To), as the person typed them, not as timestamps
        values["since"] = _bound(self.since, "From")
        values["until"] = _bound(self.until, "To")
        if values["since"] and values["until"] and values["since"] > values["until"]:
            raise FormError(f"From ({self.since}) is after To ({self.until})")
        try:
            return SearchFilters.of(**values)
        except ValidationError as e:  # out of the store's range: its own sentence
            raise FormError(validation_problems(e, names={"since": "From", "until": "To"})) from None

    def picks_a_day(self, name: str) -> bool:
        """Whether the From or To field is a date picker: not for a month, a year, a time or a day that does not
        exist typed in the query string, which a picker would show blank and drop from the next search."""
        value: str = getattr(self, name)
        if not value:
            return True
        try:  # a picker holding no real day (2026-02-30, a refused bookmark) shows blank and is sent empty
            return _DAY.fullmatch(value) is not None and date.fromisoformat(value) is not None
        except ValueError:
            return False

    def query(self, **changes: Any) -> dict[str, str]:
        """The query string of this view with `changes` (for pagination links and sorting), without blanks."""
        merged = replace(self, **changes)
        return {k: str(v) for k, v in vars(merged).items() if v not in ("", None) and (k, v) not in _DEFAULTS}


_DEFAULTS = {("sort", "newest"), ("page", 1)}


# Read as `search --since/--until` and the MCP search read them: a year or a month stands for the whole of it, a day
# (all of it, for To) or a time; the date pickers send days, a hand-typed query string may send any of these.
_BOUNDS: dict[str, TypeAdapter[datetime]] = {"From": TypeAdapter(Since), "To": TypeAdapter(Through)}


def _bound(value: str, name: str) -> datetime | None:
    if not value:
        return None
    try:
        return _BOUNDS[name].validate_python(value)
    except ValidationError as e:
        problem = validation_problems(e)
        if problem.startswith("expected "):
            raise FormError(f"{name} must be {RANGE_BOUND}") from None
        raise FormError(f"{name}: {problem}") from None  # out of range, a bare number: their own sentences


def not_found(path: Mapping[str, Any], e: StoreError) -> str:
    """What to say of an address's incident or item that is not there. An id written as one (`INC-` and digits, or
    the digits) but past the ids the store holds (more than 12 digits) names nothing stored, which is what to say rather
    than that it is not a valid id."""
    if not isinstance(e, InvalidId):
        return str(e)
    number = written_id(str(path.get("incident_id") or path.get("action_id") or "")).removeprefix(e.prefix)
    if not (number.isascii() and number.isdigit()):
        return str(e)
    missing = IncidentNotFound if e.prefix == INCIDENT_PREFIX else ActionItemNotFound
    return str(missing(e.prefix + number))


def choice(params: Mapping[str, str], name: str, default: str = "") -> str:
    value = params.get(name, "").strip()
    if value and value not in CHOICES[name]:
        raise FormError(f"{name} must be one of: {', '.join(CHOICES[name])}")
    return value or default


def text(params: Mapping[str, str], name: str, limit: int, *, required: bool = False, label: str = "") -> str:
    raw = params.get(name, "")
    # a browser posts a textarea's line breaks as CRLF, though its maxlength counted each as one character
    value = " ".join(raw.split()) if name != "description" else raw.replace("\r\n", "\n").replace("\r", "\n").strip()
    if len(value) > limit:
        raise FormError(f"{label or name} must be at most {limit} characters")
    if required and not value:
        raise FormError(f"{name} is required")
    if required and not any(c.isprintable() and not c.isspace() for c in value):
        # zero-width, direction or control characters alone: the store drops them and had nothing left to keep
        raise FormError(f"{label or name} {NOTHING_VISIBLE}")
    if "\x00" in value:
        raise FormError(f"{label or name} contains a NUL character")
    return value


def page_number(params: Mapping[str, str]) -> int:
    """The page asked for (1 when none is), however far: a list that stops short of it says so. Page 0 or a negative
    page is refused as a word would be: it showed page 1 under its own address, as if it were that page."""
    try:
        page = int(params.get("page", "1") or "1")
    except ValueError:  # also for a number of more than 4,300 digits
        page = 0
    if page < 1:
        raise FormError("page must be a whole number of at least 1 (1 is the first page)")
    return page


def filters(params: Mapping[str, str]) -> Filters:
    page = page_number(params)
    found = Filters(
        q=text(params, "q", 500),
        category=choice(params, "category"),
        severity=choice(params, "severity"),
        status=choice(params, "status"),
        agent=text(params, "agent", 200),
        tool=text(params, "tool", 200),
        since=text(params, "since", 40, label="From"),  # longer than a time: "must be ..." says more
        until=text(params, "until", 40, label="To"),
        sort=choice(params, "sort", "newest"),
        page=min(page, MAX_PAGE),  # the view says when it stops short of the page asked for
    )
    found.service_filters()  # dates checked now, so the error names the field
    return found


def as_typed(params: Mapping[str, str]) -> Filters:
    """The search form's values as typed, unchecked, to show again beside what is wrong with them (escaped there)."""
    typed: dict[str, Any] = {k: params.get(k, "")[:500] for k in ("q", "category", "severity", "status", *TEXT_FILTERS)}
    sort = params.get("sort", "")
    return Filters(
        **typed,
        since=params.get("since", "")[:40],
        until=params.get("until", "")[:40],
        sort=sort if sort in CHOICES["sort"] else "newest",
    )


@dataclass(frozen=True)
class Row:
    incident: "Incident"
    relevance: float | None = None

    @property
    def review(self) -> str:
        return "none" if self.incident.analysis is None else str(self.incident.analysis.state)


@dataclass
class IncidentPage:
    rows: list[Row] = field(default_factory=list)
    has_next: bool = False
    notes: list[str] = field(default_factory=list)  # a search's weak-match note
    named: list[str] = field(default_factory=list)  # the stored incidents its words name, to link
    empty_because: str | None = None  # the service's reason for a page with no rows (no incidents yet, filters)


def incident_page(service: "PostmortemService", f: Filters) -> IncidentPage:
    """One page of incidents: ranked by the hybrid search when there is a query, else listed in the chosen order."""
    offset, where = (f.page - 1) * PER_PAGE, f.service_filters()
    scored: list[tuple[str, float | None]]
    notes: list[str] = []
    named: list[str] = []
    if f.q:
        found = service.search_incidents(query=f.q, limit=PER_PAGE, offset=offset, filters=where)
        scored = [(h.id, h.relevance) for h in found.hits]
        more = found.next_offset is not None
        notes = [found.match_note] if found.match_note else []
        named = found.named_ids  # the note says how to read them with tools and commands; a page links them instead
        empty = found.empty_because
    else:
        listed = service.list_incidents(limit=PER_PAGE, offset=offset, order=cast(ListOrder, f.sort), filters=where)
        scored = [(i.id, None) for i in listed.incidents]
        more = listed.next_offset is not None
        empty = listed.empty_because
    read = service.get_incidents([i for i, _ in scored])  # the page's rows in a few statements, not four a row
    return IncidentPage(
        [Row(incident, score) for incident, (_, score) in zip(read, scored, strict=True)], more, notes, named, empty
    )


def patterns(service: "PostmortemService") -> "PatternList":
    return service.recurring_patterns(limit=PATTERNS)


def effectiveness(service: "PostmortemService") -> "EffectivenessReport":
    return service.fix_effectiveness(limit=PATTERNS)
