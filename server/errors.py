"""Domain errors. The MCP and CLI layers turn them into actionable messages in one place each."""

import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from agent_postmortem.store.errors import (
    ActionItemNotFound,
    CorruptRecord,
    IncidentNotFound,
    IndexBusy,
    InvalidId,
    ReadOnlyStore,
    StoreError,
)

if TYPE_CHECKING:  # pydantic stays off `postmortem --help`
    from pydantic import BaseModel, ValidationError
    from pydantic_core import ErrorDetails

__all__ = [
    "ActionItemNotFound",
    "AnalysisChanged",
    "CorruptRecord",
    "DraftError",
    "DraftTimeout",
    "EmptyQuery",
    "InTheFuture",
    "IncidentNotFound",
    "IndexBusy",
    "InvalidId",
    "KnowledgeBaseUnavailable",
    "LLMFailed",
    "LLMUnavailable",
    "NoModelConfigured",
    "NoteTooLong",
    "NotTheLatestAnalysis",
    "NothingToReview",
    "PostmortemError",
    "ReadOnlyStore",
    "StoreError",
]


class PostmortemError(Exception):
    """Base class for errors a user or a calling model can act on."""


class LLMUnavailable(PostmortemError):
    """No LLM backend is configured or reachable."""


class LLMFailed(LLMUnavailable):
    """The configured model did not answer: its endpoint cannot be reached, timed out or failed (HTTP 5xx, 429).
    Nothing in the settings is wrong; retry later. The endpoint refusing the settings (API key, model) is not this."""


class NoModelConfigured(LLMUnavailable):
    """No model is configured to draft on the server (the assistant, or a configured model, must write it)."""


class DraftError(PostmortemError):
    """The LLM answered, but not with a valid analysis (after the repair round)."""


class DraftTimeout(PostmortemError):
    """The model did not finish the draft within the time limit; nothing was stored."""


class NotAnalysed(PostmortemError):
    """Learning needs a completed post-mortem: an analysis a person accepted."""

    def __init__(self, incident_id: str) -> None:
        super().__init__(
            f"{incident_id} has no accepted analysis yet: draft one (draft_analysis, or `postmortem draft "
            f"{incident_id}`) or record one, accept it after reading it (review_analysis, or `postmortem review "
            f"{incident_id} --accept`), then learn from it"
        )


class NothingToReview(PostmortemError):
    def __init__(self, incident_id: str) -> None:
        super().__init__(
            f"{incident_id} has no analysis to review: draft one first (draft_analysis, or `postmortem draft "
            f"{incident_id}`)"
        )


class AnalysisChanged(PostmortemError):
    """A newer analysis was stored while one was being reviewed: the verdict was given on the older one."""

    def __init__(self, incident_id: str) -> None:
        super().__init__(
            f"{incident_id} got a newer analysis while this review was being stored; nothing was changed: read the "
            f"new one (`postmortem show {incident_id}`, get_incident) and review it"
        )


class NotTheLatestAnalysis(PostmortemError):
    """A review that names its analysis (`analysis_id`, `review --analysis`), which is not the incident's latest: a
    newer draft landed after it was read, and a review by the latest alone would decide on one nobody read."""

    def __init__(self, incident_id: str, *, given: int, latest: int | None, state: str) -> None:
        super().__init__(
            f"analysis {given} is not {incident_id}'s latest, analysis {latest} ({state}) is; nothing was changed: "
            f"read it (`postmortem show {incident_id}`, get_incident), then review it with `postmortem review "
            f"{incident_id} --analysis {latest}` (analysis_id={latest})",
        )


class InTheFuture(PostmortemError):
    """A time of something that happened, later than now: a timeline dated 2030 would sort after everything."""

    def __init__(self, what: str) -> None:
        super().__init__(f"{what} is in the future: give when it happened (ISO 8601, UTC unless it says), or omit it")


class NoteTooLong(PostmortemError):
    """Text longer than where it is kept: refused whole rather than cut."""

    def __init__(self, length: int, limit: int, *, why: str) -> None:
        super().__init__(
            f"the note has {length} characters; it holds at most {limit} ({why}): shorten it, or add the rest as "
            "a timeline event"
        )


class EmptyQuery(PostmortemError):
    def __init__(self) -> None:
        super().__init__("give a query: the symptoms or an error message to search for (or an incident id)")


class QueryAndIncident(PostmortemError):
    """A search sent both a query and an incident id: one of them would have been dropped without a word."""

    def __init__(self) -> None:
        super().__init__(
            "send a query or an incident_id, not both: query searches by a description (symptoms, an error message), "
            "incident_id by a stored incident's own text (its neighbours); to narrow either, use the filters "
            "(category, severity, status, agent, tool, model, since, until)"
        )


class NothingToCheck(PostmortemError):
    def __init__(self) -> None:
        super().__init__("give the text to check for blaming language: the sentences or the whole draft, not blank")


class KnowledgeBaseUnavailable(PostmortemError):
    """The server could not open its knowledge base: why, when it is the database (damaged, the disk) or a file or
    directory of the home that cannot be made or opened (as the CLI says it); else its log says why."""

    def __init__(self, cause: BaseException | None, *, retried: bool = False) -> None:
        """`retried`: the server opens it again on a later call (the database could not be reached)."""
        known = cause is not None and is_storage_failure(cause)
        reason = storage_failure(cause) if cause is not None and known else "the server log says why."
        if isinstance(cause, ReadOnlyStore):
            reason = f"{cause}."
        elif isinstance(cause, OSError) and cause.filename and not known:
            reason = f"{cause.strerror or type(cause).__name__}: {cause.filename}."
        then = "It is tried again on the next call." if retried else "Restart the server once that is fixed."
        super().__init__(f"The knowledge base could not be opened: {reason} {then}")


class UnknownRunbook(PostmortemError):
    def __init__(self, pattern_id: str | None = None) -> None:
        """`pattern_id`: a well-formed PAT-n that is no current pattern (safe to name); else the key is malformed."""
        if pattern_id is not None:
            super().__init__(
                f"no recurring pattern {pattern_id} now (pattern ids change as incidents are added); call "
                "recurring_patterns (CLI: `postmortem patterns`) for the current ids"
            )
            return
        super().__init__(
            "a runbook key is a category (llm_hallucination, llm_refusal, tool_failure, prompt_injection, timeout, "
            "rate_limit, data_corruption, business_logic, infrastructure) or a pattern id from recurring_patterns "
            "(PAT-n)"
        )


def storage_failure(error: BaseException) -> str:
    """The message for a database failure: a write the database refused (disk full, I/O error, locked too long), or a
    damaged database file. The engine's own one-line reason, never the statement or its values (they hold incident
    text)."""
    reason = str(getattr(error, "orig", None) or error.__class__.__name__).splitlines()[0][:200]
    if is_damaged_database(error):
        return (
            f"The incident database is damaged ({reason}); nothing was changed. `postmortem check` says what is "
            "wrong; restore the data directory from a backup, or import your last `postmortem export` into a new, "
            "empty home."
        )
    if _at_connection_limit(reason):
        return (
            f"The database server refused another connection ({reason}); nothing was changed. It is at its "
            "connection limit: each server process opens up to 17 connections per team it serves (docs/deploy.md, "
            "Sizing). Raise the server's max_connections (or the role's CONNECTION LIMIT), or serve fewer replicas "
            "or teams from this database, then retry."
        )
    if _could_not_connect(reason):
        return (
            f"The incident store could not connect to its database ({reason}); nothing was changed. Check "
            "POSTMORTEM_DATABASE_URL and that the database server is up and reachable (or, without it, that the "
            "data directory can be read and written)."
        )
    return (
        f"The incident store could not complete this ({reason}); the change was rolled back and nothing partial "
        "was kept. If the disk is full or failing, free space or fix it and try again; reading still works."
    )


# The drivers' reasons for a connection that could not be made (psycopg 3, SQLite): the server is down or
# unreachable, the credentials or the database name are wrong, or the file cannot be opened. Looked for anywhere in
# the reason: psycopg puts "connection is bad: " before libpq's "connection to server on socket ... failed".
_NO_CONNECTION = (
    "connection failed",
    "connection to server",
    "could not translate host name",
    "failed to resolve host",  # psycopg resolves names itself: a DNS failure was "If the disk is full"
    "unable to open database",
    # libpq refusing the URL's options before connecting (`?sslmode=bogus`, `?connect_timeout=abc`, `?bogus=1`): they
    # were "If the disk is full" or "unexpected ProgrammingError"
    "connection is bad",
    "invalid connection option",
    "bad value for",
)


# PostgreSQL's refusals of one more connection: the server's max_connections, a role's or a database's CONNECTION
# LIMIT. They were told to check POSTMORTEM_DATABASE_URL and that the server was up, which both were.
_CONNECTION_LIMIT = (
    "too many clients",
    "too many connections",
    "remaining connection slots are reserved",
)


def _at_connection_limit(reason: str) -> bool:
    said = reason.lower()
    return any(words in said for words in _CONNECTION_LIMIT)


def _could_not_connect(reason: str) -> bool:
    said = reason.lower()
    return any(words in said for words in _NO_CONNECTION)


def is_storage_failure(error: BaseException) -> bool:
    """A database error from the engine itself: the disk, a lock, or a damaged file (sqlalchemy is imported only once
    one happened)."""
    if "sqlalchemy" not in sys.modules:
        return False
    from sqlalchemy.exc import DBAPIError, OperationalError

    if isinstance(error, OperationalError) or is_damaged_database(error):
        return True
    # psycopg raises ProgrammingError for URL options libpq refuses while connecting (no statement was sent)
    return isinstance(error, DBAPIError) and error.statement is None and _could_not_connect(str(error.orig))


def is_damaged_database(error: BaseException) -> bool:
    """SQLite's "database disk image is malformed" and "file is not a database": the driver's plain DatabaseError,
    none of its subclasses (a constraint, a programming error or a lock is something else)."""
    if "sqlalchemy" not in sys.modules:
        return False
    from sqlalchemy.exc import DatabaseError

    return type(error) is DatabaseError


# pydantic's own sentences for text that is no time ("Input should be a valid datetime or date, unexpected extra
# characters at the end of the input") say what its parser met, not what to send: one sentence with an example.
ISO_TIME = "expected an ISO 8601 date or time (2026-12-15 or 2026-12-15T10:00:00Z)"
_NO_TIME = frozenset(
    {"datetime_parsing", "datetime_from_date_parsing", "datetime_type", "date_parsing", "date_from_datetime_parsing"}
)


def validation_problems(
    error: "ValidationError",
    *,
    limit: int = 10,
    within: Sequence[str | int] = (),
    name_keys: bool = True,
    names: Mapping[str, str] | None = None,
    schema: "type[BaseModel] | None" = None,
    unknown_keys: str = "",
) -> str:
    """What is wrong with validated input, and where, in one line: `timeline.0.at: expected an ISO 8601 date or
    time (...); title: Field required; and 2 more`. Every entry point reports validation this one way, never with the
    rejected value (it may be a secret). The whole record (not an object, a cross-field rule) is `(record)`, or
    `within`, the path of the record in the input. `name_keys=False` for text written by a model: an unexpected key
    is then named by where it is, not by the key itself (which the model wrote), with the keys `schema` takes there.
    `names` renames a top-level field to what the user gave it as (a command-line option). `unknown_keys` puts the
    record's own unexpected keys first, in one sentence that begins with it: a file of another format had 20 of them,
    told one a sentence and cut after three."""
    errors = error.errors(include_input=False, include_url=False)
    parts: list[str] = []
    if unknown_keys and (keys := [str(e["loc"][0]) for e in errors if _own_key(e)]):
        shown = ", ".join(keys[:12]) + (f" and {len(keys) - 12} more" if len(keys) > 12 else "")
        parts.append(f"{unknown_keys}: {shown}")
        errors = [e for e in errors if not _own_key(e)]
    for e in errors:
        loc = [*within, *e["loc"]]
        if names and loc and isinstance(loc[0], str) and loc[0] in names:
            loc[0] = names[loc[0]]
        if e["type"] == "extra_forbidden" and not name_keys:
            takes = _keys_at(schema, e["loc"][:-1])
            said = f"it takes: {', '.join(takes)}" if takes else "remove keys not in the schema"
            part = f"{_path(loc[:-1])}: unexpected key ({said})"
            if part not in parts:  # one sentence per place, however many keys it has
                parts.append(part)
        elif e["type"] == "value_error":  # a rule's own sentence: "Value error, " is pydantic's wrapping
            said = e["msg"].removeprefix("Value error, ")
            parts.append(f"{_path(loc)}: {said}" if loc else said)
        elif e["type"] in _NO_TIME:
            parts.append(f"{_path(loc)}: {ISO_TIME}")
        else:
            parts.append(f"{_path(loc)}: {e['msg']}")
    more = f"; and {len(parts) - limit} more" if len(parts) > limit else ""
    return "; ".join(parts[:limit]) + more


def _own_key(e: "ErrorDetails") -> bool:
    return e["type"] == "extra_forbidden" and len(e["loc"]) == 1


def _keys_at(schema: "type[BaseModel] | None", loc: Sequence[str | int]) -> list[str]:
    """The keys the object at `loc` of `schema` takes (list indexes skipped), or none when it is not a model."""
    from pydantic import BaseModel

    model = schema
    for part in loc:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part) if model is not None else None
        model = _model_in(field.annotation) if field is not None else None
    return list(model.model_fields) if model is not None and issubclass(model, BaseModel) else []


def _model_in(annotation: object) -> "type[BaseModel] | None":
    """The model a field holds: itself, or inside a list or an optional (`list[DraftWhy]`, `Factor | None`)."""
    from typing import get_args

    from pydantic import BaseModel

    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def _path(loc: Sequence[str | int]) -> str:
    return ".".join(str(p) for p in loc) or "(record)"
