"""What the recorder says when a capture is not stored: one line for a failure the store has put in words, and the
names a refused field may take."""

import logging

from pydantic import ValidationError

logger = logging.getLogger("agent_postmortem.sdk.recorder")


class CaptureNotStored(RuntimeError):
    """A capture the service refused or could not store, for a reason it has put in words (logged as one line)."""


def log_not_stored(error: Exception) -> None:
    """One line for a failure the store has put in words (a read-only or full disk, a damaged database, a home that
    cannot be made); a traceback only for the unexpected: the agent's log is no place for 100 lines of the store."""
    from agent_postmortem.errors import PostmortemError, is_storage_failure, storage_failure
    from agent_postmortem.store.errors import StoreError

    if is_storage_failure(error):
        logger.warning("postmortem: a capture was not stored: %s", storage_failure(error))
    elif isinstance(error, CaptureNotStored | StoreError | PostmortemError):
        logger.warning("postmortem: a capture was not stored: %s", error)
    elif isinstance(error, OSError):
        logger.warning(
            "postmortem: a capture was not stored: %s: %s", error.strerror or type(error).__name__, error.filename or ""
        )
    else:
        logger.exception("postmortem: a capture could not be stored")


def accepted_names(error: ValidationError) -> str:
    """The names a refused `category` or `severity` may take: the line said only which field was wrong."""
    from agent_postmortem.store.vocabulary import Category, Severity, names

    wrong = {str(err["loc"][0]) for err in error.errors() if err["loc"]}
    accepted = {"category": tuple(Category), "severity": names(Severity)}
    return "".join(f"; {field} is one of {', '.join(accepted[field])}" for field in accepted if field in wrong)
