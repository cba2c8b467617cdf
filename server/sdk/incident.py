"""An agent's failure as the incident a capture stores: an exception (its type, message and stack trace) or a
description, with the context of the watch or the call, made to fit (fit.py)."""

import traceback
from typing import Any

from agent_postmortem.sdk.fit import as_text, fit, message_of
from agent_postmortem.store.models import IncidentCreate

TRACE_CHARS = 8_000


class NotAFailure(Exception):
    """What `capture` was given is neither an exception nor a description (None, a number): dropped, said why."""


def incident_of(
    error: BaseException | str | None, context: dict[str, Any], *, agent: str | None, model: str | None
) -> IncidentCreate:
    """The recorder's capture of `error` with `context`, for its `agent` and `model` unless the context names them."""
    ctx = dict(context)
    session = ctx.pop("session", None)
    prompt = ctx.pop("prompt", None)
    fields: dict[str, Any] = {"agent": agent, "model": model, **ctx}
    if prompt is not None:
        fields["prompt_excerpt"] = as_text(prompt)
    if isinstance(error, BaseException):
        cause, others = _grouped(error)
        fields.setdefault("title", f"{type(cause).__name__} in {fields.get('tool') or fields.get('agent') or 'agent'}")
        fields.setdefault("error_type", type(cause).__name__)
        more = f" (and {len(others)} more: {type(others[0]).__name__}: {message_of(others[0])})" if others else ""
        fields.setdefault("error_message", message_of(cause) + more)
        trace = "".join(traceback.format_exception(type(error), error, error.__traceback__))
        fields.setdefault("stack_trace", trace[-TRACE_CHARS:])
    elif not isinstance(error, str) and "title" not in fields:
        # capture(None) (sys.exc_info()[1] outside an except) stored an incident titled "None"; capture(42) was
        # dropped with a field path the agent's author could not map to anything
        raise NotAFailure(
            "capture() with nothing given records the exception being handled, and none was: call it in an except "
            "block, or give it the exception or a description"
            if error is None
            else f"capture() takes an exception or a description, not {type(error).__name__}"
        )
    else:
        fields.setdefault("title", as_text(error))
    if session is not None:
        fields["description"] = f"session {as_text(session)}. " + as_text(fields.get("description", ""))
    return IncidentCreate.model_validate(fit(fields))


def _grouped(error: BaseException) -> tuple[BaseException, list[BaseException]]:
    """The first exception an exception group holds (a TaskGroup's, however nested) and the others; else the error
    itself. A failure in an `asyncio.TaskGroup` was stored as "ExceptionGroup" with the message "unhandled errors in
    a TaskGroup", classified from those words rather than from the exception it held."""
    if not isinstance(error, BaseExceptionGroup):
        return error, []
    leaves: list[BaseException] = []
    pending: list[BaseException] = [error]
    while pending and len(leaves) < 100:
        current = pending.pop(0)
        if isinstance(current, BaseExceptionGroup):
            pending[:0] = list(current.exceptions)
        else:
            leaves.append(current)
    return (leaves[0], leaves[1:]) if leaves else (error, [])
