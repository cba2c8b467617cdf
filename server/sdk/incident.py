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
    error: BaseException | str, context: dict[str, Any], *, agent: str | None, model: str | None
) -> IncidentCreate:
    """The recorder's capture of `error` with `context`, for its `agent` and `model` unless the context names them."""
    ctx = dict(context)
    session = ctx.pop("session", None)
    prompt = ctx.pop("prompt", None)
    fields: dict[str, Any] = {"agent": agent, "model": model, **ctx}
    if prompt is not None:
        fields["prompt_excerpt"] = as_text(prompt)
    if isinstance(error, BaseException):
        fields.setdefault("title", f"{type(error).__name__} in {fields.get('tool') or fields.get('agent') or 'agent'}")
        fields.setdefault("error_type", type(error).__name__)
        fields.setdefault("error_message", message_of(error))
        trace = "".join(traceback.format_exception(type(error), error, error.__traceback__))
        fields.setdefault("stack_trace", trace[-TRACE_CHARS:])
    elif not isinstance(error, str) and "title" not in fields:
        # capture(None) (sys.exc_info()[1] outside an except) stored an incident titled "None"; capture(42) was
        # dropped with a field path the agent's author could not map to anything
        raise NotAFailure(f"capture() takes an exception or a description, not {type(error).__name__}")
    else:
        fields.setdefault("title", as_text(error))
    if session is not None:
        fields["description"] = f"session {as_text(session)}. " + as_text(fields.get("description", ""))
    return IncidentCreate.model_validate(fit(fields))
