"""Domain errors. The MCP and CLI layers turn them into actionable messages in one place each."""

import math
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Literal

from agent_postmortem.analysis.wording import counted
from agent_postmortem.storage_failure import is_damaged_database, is_storage_failure, storage_failure
from agent_postmortem.store.errors import (
    ActionItemNotFound,
    CorruptRecord,
    IncidentNotFound,
    IndexBusy,
    InvalidId,
    ReadOnlyStore,
    StoreError,
)
from agent_postmortem.validation_problems import ISO_TIME, validation_problems

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
    "UnusableHome",
    "PostmortemError",
    "ReadOnlyStore",
    "StoreError",
    "ISO_TIME",
    "is_damaged_database",
    "is_storage_failure",
    "storage_failure",
    "validation_problems",
]


Surface = Literal["cli", "mcp", "web"]
SURFACE: ContextVar[Surface | None] = ContextVar("surface", default=None)
"""Where an error is shown: the CLI sets "cli" around every command, at its one entry point (`Root.main`,
server/cli/app.py), the MCP server "mcp" around every tool call, resource read and prompt (server/mcp/common.py), the
web view "web" around every page and form (server/web/app.py: its reader runs no command and calls no tool); unset
(the SDK, a test), an error says what it does with both wordings."""


REMOTE: ContextVar[bool] = ContextVar("remote", default=False)
"""Whether the reader is a client that signed in with a token (MCP over HTTP), not whoever runs the server: a
database's reason (its host, port and role) is not said to it, as the web view does not say it."""


@contextmanager
def shown_on(surface: Surface, *, remote: bool = False) -> Iterator[None]:
    """Errors stringified inside name what to do on `surface` (commands, tools, or the server's settings); `remote`:
    to a client with a token, not to whoever runs the server."""
    token, at_a_distance = SURFACE.set(surface), REMOTE.set(remote)
    try:
        yield
    finally:
        SURFACE.reset(token)
        REMOTE.reset(at_a_distance)


class PostmortemError(Exception):
    """Base class for errors a user or a calling model can act on. What to do next can be worded per surface: `cli`
    names a command (`postmortem patterns`), `mcp` a tool (recurring_patterns); each replaces the message where
    SURFACE is that one. A message naming both ("call recurring_patterns (CLI: `postmortem patterns`)") read as
    written for the other side, wherever it was shown."""

    def __init__(self, *args: object, cli: str | None = None, mcp: str | None = None) -> None:
        super().__init__(*args)
        self.worded: dict[Surface, str | None] = {"cli": cli, "mcp": mcp}

    def __str__(self) -> str:
        surface = SURFACE.get()
        return (surface and self.worded.get(surface)) or super().__str__()


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
            f"{incident_id} --accept`), then learn from it",
            cli=f"{incident_id} has no accepted analysis yet: draft one (`postmortem draft {incident_id}`), read it "
            f"and accept it (`postmortem review {incident_id} --accept`), then learn from it",
            mcp=f"{incident_id} has no accepted analysis yet: draft one (draft_analysis) or record one "
            "(record_analysis), let the user read it and accept it (review_analysis), then learn from it",
        )


class NothingToReview(PostmortemError):
    def __init__(self, incident_id: str) -> None:
        super().__init__(
            f"{incident_id} has no analysis to review: draft one first (draft_analysis, or `postmortem draft "
            f"{incident_id}`)",
            cli=f"{incident_id} has no analysis to review: draft one first (`postmortem draft {incident_id}`)",
            mcp=f"{incident_id} has no analysis to review: draft one first (draft_analysis, or record_analysis)",
        )


class AnalysisChanged(PostmortemError):
    """A newer analysis was stored while one was being reviewed: the verdict was given on the older one."""

    def __init__(self, incident_id: str) -> None:
        changed = f"{incident_id} got a newer analysis while this review was being stored; nothing was changed"
        super().__init__(
            f"{changed}: read the new one (`postmortem show {incident_id}`, get_incident) and review it",
            cli=f"{changed}: read the new one (`postmortem show {incident_id}`) and review it",
            mcp=f"{changed}: read the new one (get_incident) and review it",
        )


class NotTheLatestAnalysis(PostmortemError):
    """A review that names its analysis (`analysis_id`, `review --analysis`), which is not the incident's latest: a
    newer draft landed after it was read, and a review by the latest alone would decide on one nobody read."""

    def __init__(self, incident_id: str, *, given: int, latest: int | None, state: str) -> None:
        stale = f"analysis {given} is not {incident_id}'s latest, analysis {latest} ({state}) is; nothing was changed"
        super().__init__(
            f"{stale}: read it (`postmortem show {incident_id}`, get_incident), then review it with `postmortem "
            f"review {incident_id} --analysis {latest}` (analysis_id={latest})",
            cli=f"{stale}: read it (`postmortem show {incident_id}`), then review it with `postmortem review "
            f"{incident_id} --analysis {latest}`",
            mcp=f"{stale}: read it (get_incident), then review it with analysis_id={latest}",
        )


class ActionItemChanged(PostmortemError):
    """An update that names the changes it read (`expected_changes`) of an item changed since: written, it would
    overwrite a change its caller never saw (the web board's cards refuse the same with 409)."""

    def __init__(self, action_id: str, *, given: int, since: list[str], now: int) -> None:
        if since:
            what = f"{action_id} was changed after it was read ({'; '.join(since)}); nothing was changed"
        else:
            what = f"{action_id} has {counted(now, 'recorded change')}, not {given}; nothing was changed"
        super().__init__(
            f"{what}: read it again (get_action_item), then retry with expected_changes={now} if your change still "
            "stands"
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


class KeyReused(PostmortemError):
    """An idempotency key sent again with another failure: replaying the first capture dropped the new one."""

    def __init__(self, incident_id: str) -> None:
        super().__init__(
            f"this idempotency key was already used for the capture of {incident_id}, a different failure (another "
            "title and error): nothing was stored. Use a new key for each failure, the same one only to retry it"
        )


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


class UnusableHome(PostmortemError):
    """The data directory is a file, or cannot be made where it is said to be: "Not a directory: /dev/null" named
    neither the setting that chose it nor what to set it to."""

    def __init__(self, home: Path, error: OSError, *, flag: str | None = None) -> None:
        """`flag`: the command-line option that gave `home` (`demo --home`), else it is POSTMORTEM_HOME's."""
        why = f"{error.strerror or type(error).__name__}: {error.filename or home}"
        usable = "a directory this process can create and write (a new or an existing one, not a file)"
        if flag is not None:
            said = f"{flag} is {home}, which cannot hold the knowledge base ({why}); give {flag} {usable}"
        else:
            said = (
                f"POSTMORTEM_HOME is {home}, which cannot hold the knowledge base ({why}); set POSTMORTEM_HOME to "
                f"{usable}, or unset it for the default data directory"
            )
        super().__init__(said)
        self.home, self.error = home, error


class KnowledgeBaseUnavailable(PostmortemError):
    """The server could not open its knowledge base: why, when it is the database (damaged, the disk) or a file or
    directory of the home that cannot be made or opened (as the CLI says it); else its log says why."""

    def __init__(self, cause: BaseException | None, *, retry_in: float | None = None) -> None:
        """`retry_in`: the server opens it again on a call made that many seconds from now or later (the database could
        not be reached); a call sooner gets this failure again, so the sentence says when, not "on the next call"."""
        known = cause is not None and is_storage_failure(cause)
        reason = storage_failure(cause) if cause is not None and known else "the server log says why."
        if isinstance(cause, (ReadOnlyStore, UnusableHome)):
            reason = f"{cause}."
        elif isinstance(cause, OSError) and cause.filename and not known:
            reason = f"{cause.strerror or type(cause).__name__}: {cause.filename}."
        then = "Restart the server once that is fixed."
        if retry_in is not None:
            then = f"It is tried again on the next call made {max(1, math.ceil(retry_in))} s or more from now."
        # a storage failure's sentence already says whose store failed and why: not wrapped in a second one
        said = reason if known and not isinstance(cause, (ReadOnlyStore, UnusableHome)) else None
        super().__init__(f"{said} {then}" if said else f"The knowledge base could not be opened: {reason} {then}")


class UnknownRunbook(PostmortemError):
    def __init__(self, pattern_id: str | None = None) -> None:
        """`pattern_id`: a well-formed PAT-n that is no current pattern (safe to name); else the key is malformed."""
        if pattern_id is not None:
            gone = f"no recurring pattern {pattern_id} now (pattern ids change as incidents are added)"
            super().__init__(
                f"{gone}; call recurring_patterns (CLI: `postmortem patterns`) for the current ids",
                cli=f"{gone}; `postmortem patterns` lists the current ids",
                mcp=f"{gone}; call recurring_patterns for the current ids",
            )
            return
        super().__init__(
            "a runbook key is a category (llm_hallucination, llm_refusal, tool_failure, prompt_injection, timeout, "
            "rate_limit, data_corruption, business_logic, infrastructure) or a pattern id from recurring_patterns "
            "(PAT-n)"
        )
