"""An agent's failure as the incident a capture stores: an exception (its type, message and stack trace) or a
description, with the context of the watch or the call, made to fit (fit.py)."""

import logging
import traceback
from typing import Any

from agent_postmortem.sdk.fit import as_text, fit, message_of
from agent_postmortem.store.models import IncidentCreate
from agent_postmortem.store.redact import cut
from agent_postmortem.store.vocabulary import Category, Severity, names

logger = logging.getLogger("agent_postmortem.sdk.recorder")
TRACE_CHARS = 8_000
PART_CHARS = 2_000  # of each part of a stack trace (an exception's message, a frame): the frames say where it failed


class NotAFailure(Exception):
    """What `capture` was given is neither an exception nor a description (None, a number): dropped, said why."""


def incident_of(
    error: BaseException | str | None, context: dict[str, Any], *, agent: str | None, model: str | None
) -> IncidentCreate:
    """The recorder's capture of `error` with `context`, for its `agent` and `model` unless the context names them."""
    ctx = _stored_context(context)
    session = ctx.pop("session", None)
    prompt = ctx.pop("prompt", None)
    fields: dict[str, Any] = _printable({"agent": agent, "model": model, **ctx})
    if prompt is not None:
        fields["prompt_excerpt"] = prompt_text(prompt)
    if isinstance(fields.get("severity"), int) and not isinstance(fields["severity"], bool):  # severity=2
        fields["severity"] = f"SEV{fields['severity']}"
    for name, vocabulary in (("severity", names(Severity)), ("category", tuple(Category))):
        fields[name] = _known(fields.get(name), vocabulary)
    if isinstance(error, BaseException):
        cause, others = _grouped(error)
        fields.setdefault("title", f"{type(cause).__name__} in {fields.get('tool') or fields.get('agent') or 'agent'}")
        fields.setdefault("error_type", type(cause).__name__)
        more = f" (and {len(others)} more: {type(others[0]).__name__}: {message_of(others[0])})" if others else ""
        fields.setdefault("error_message", message_of(cause) + more)
        fields.setdefault("stack_trace", _stack_trace(error))
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


CONTEXT_NAMES = ("prompt", "session", *IncidentCreate.model_fields)
KEPT_OUT = ("prompt_excerpt", "idempotency_key", "source_id")  # taken, but set by the capture, not by agent code


def _stored_context(context: dict[str, Any]) -> dict[str, Any]:
    """The context a capture stores: a value of None is "not given" (`title=None` from an optional argument), and a
    name nothing stores (a LangChain callback's `run_id`, a typo such as `tol=`) is left out with one line naming it
    and the names a capture takes, never its value. Either dropped the whole capture, each time that code failed."""
    unknown = [name for name in context if name not in CONTEXT_NAMES]
    if unknown:
        shown = ", ".join(cut(str(name), 40) for name in unknown[:5]) + (" ..." if len(unknown) > 5 else "")
        accepted = ", ".join(name for name in CONTEXT_NAMES if name not in KEPT_OUT)
        logger.warning("postmortem: context field(s) %s not stored: a capture takes %s", shown, accepted)
    return {name: value for name, value in context.items() if value is not None and name in CONTEXT_NAMES}


PLAIN = (str, bytes, bytearray, int, float, dict, list, tuple, set, frozenset)  # fit.as_text reads what they hold


def _printable(fields: dict[str, Any]) -> dict[str, Any]:
    """The fields with each object whose `str()` raises (an agent object given as `agent=`) as a placeholder naming
    its type, said in one line; the title is built from the agent or the tool, and the capture was dropped for it
    ("its context could not be read"), every time."""
    out = dict(fields)
    for name, value in fields.items():
        if value is None or isinstance(value, PLAIN):
            continue
        try:
            str(value)
        except Exception:  # the agent's object, not ours to fix
            out[name] = f"<unprintable {type(value).__name__}>"
    unreadable = [name for name in fields if out[name] is not fields[name]]
    if unreadable:
        logger.warning("postmortem: %s stored as its type name: str() of the value raised", ", ".join(unreadable))
    return out


def _stack_trace(error: BaseException) -> str:
    """The exception's traceback (with its causes) cut to TRACE_CHARS, keeping its end, each part (a message, a
    frame) to PART_CHARS, never through a secret. It was sliced before redaction: a key the slice fell inside was
    stored as its end, which no rule recognises; and a message of 100 KB (a response body) filled the slice, so where
    the agent failed was not stored at all."""
    parts = traceback.TracebackException.from_exception(error).format()
    trace = "".join(part if len(part) <= PART_CHARS else cut(part, PART_CHARS) + "…\n" for part in parts)
    return cut(trace, TRACE_CHARS, keep_end=True)


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


_USER_ROLES = ("user", "human")


def prompt_text(prompt: Any) -> str:
    """The prompt as text; of a conversation (the messages sent to the model, OpenAI- or LangChain-style), its last
    user message. The list was stored as JSON from its start, cut at 2,000 characters: a long system prompt filled
    it, and the user's request the agent failed on was not stored at all."""
    if isinstance(prompt, list | tuple) and prompt:
        for message in reversed(prompt):
            role = message.get("role") if isinstance(message, dict) else getattr(message, "type", None)
            content = message.get("content") if isinstance(message, dict) else getattr(message, "content", None)
            if isinstance(role, str) and role.lower() in _USER_ROLES:
                text = _content_text(content)
                if text:
                    return text
    return as_text(prompt)


def as_the_sdk_takes(fields: dict[str, Any]) -> dict[str, Any]:
    """An incident's fields read from a file (`capture --file`, a line of `import`) as the SDK takes them:
    `prompt_excerpt` may be the messages sent to the model (OpenAI- or LangChain-style), stored as the SDK stores
    them (the user's last message). It was refused as not a string."""
    prompt = fields.get("prompt_excerpt")
    return {**fields, "prompt_excerpt": prompt_text(prompt)} if isinstance(prompt, list) else fields


def _content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # parts: {"type": "text", "text": ...}
        parts = [p.get("text") if isinstance(p, dict) else p for p in content]
        return "\n".join(p for p in parts if isinstance(p, str) and p)
    return ""


def _known(value: Any, vocabulary: tuple[str, ...]) -> Any:
    """A severity or category as an agent's author writes it (`"sev1"`, `"Rate limit"`) as the stored name; the
    capture was dropped for it. An LLM category without its prefix (`"hallucination"`, `"refusal"`) is that category:
    a check that caught a made-up answer lost its capture. Anything else is left for validation to refuse."""
    if not isinstance(value, str):
        return value
    key = value.strip().replace(" ", "_").replace("-", "_").lower()
    return next((name for name in vocabulary if name.lower() in (key, f"llm_{key}")), value)
