"""What the recorder says when a capture is not stored: one line for a failure the store has put in words, and the
names a refused field may take."""

import logging
import os
import threading
from typing import ClassVar

from pydantic import ValidationError

logger = logging.getLogger("agent_postmortem.sdk.recorder")


class CaptureNotStored(RuntimeError):
    """A capture the service refused or could not store, for a reason it has put in words (logged as one line)."""

    said_once: ClassVar[bool] = False  # a setting every capture fails on (a revoked token): said once per process


_said: set[str] = set()  # the reasons said once already, in this process
_said_lock = threading.Lock()


def forget_said() -> None:
    """Say each reason again once (a forked child is another process; tests start each from none said)."""
    global _said_lock
    _said.clear()
    _said_lock = threading.Lock()  # in a forked child, it may have been held at the fork


os.register_at_fork(after_in_child=forget_said)


def log_not_stored(error: Exception) -> None:
    """One line for a failure the store has put in words (a read-only or full disk, a damaged database, a home that
    cannot be made); a traceback only for the unexpected: the agent's log is no place for 100 lines of the store."""
    from agent_postmortem.errors import PostmortemError, is_storage_failure, storage_failure
    from agent_postmortem.store.errors import StoreError

    if is_storage_failure(error):
        logger.warning("postmortem: a capture was not stored: %s", storage_failure(error))
    elif isinstance(error, CaptureNotStored) and error.said_once:
        with _said_lock:
            again = str(error) in _said
            _said.add(str(error))
        if again:  # a line per capture filled the agent's log with the same sentence
            logger.debug("postmortem: a capture was not stored: %s", error)
        else:
            logger.warning(
                "postmortem: a capture was not stored: %s (said once: later captures refused for this are counted in "
                "the recorder's `failed`)",
                error,
            )
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
