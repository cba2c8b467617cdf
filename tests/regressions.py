"""Regression cases learnt by the real `learn` from a real store, for the tests that run them (sdk/regress.py,
cli/regress.py): past incidents with their analyses as an import file, and the cases the service learns from them.
Also the small agents those tests run the cases against."""

import asyncio
import json
import os
import random
import subprocess
import sys
import threading
import time
from pathlib import Path

from agent_postmortem.analysis.regression import RegressionCase
from agent_postmortem.analysis.regression_checks import AgentReply
from agent_postmortem.ingest.jsonl import read_incidents
from agent_postmortem.sdk.incident import incident_of
from tests.factories import make_service


def _incident(title: str, category: str, determinism: str, **fields: object) -> dict[str, object]:
    return {
        "title": title,
        "category": category,
        "severity": "SEV3",
        "determinism": determinism,
        "created_at": "2026-10-01T10:00:00Z",
        **fields,
        "analysis": {
            "whys": [{"question": f"Why: {title}?", "answer": "Nothing in the agent's loop checked for it."}],
            "root_cause": "The agent's loop had no check for this failure before it answered.",
        },
    }


INCIDENTS = {
    "timeout": _incident(
        "Trip planner timed out on flights.search",
        "timeout",
        "deterministic",
        agent="trip-planner",
        tool="flights.search",
        error_type="TimeoutError",
        error_message="read timed out after 0.25 s",
        prompt_excerpt="Find me a flight to Lisbon on Friday",
    ),
    "llm_refusal": _incident(
        "Contracts assistant refused to summarise a lease",
        "llm_refusal",
        "probabilistic",
        agent="contracts-assistant",
        error_type="ModelRefusal",
        error_message="the model declined a permitted request",
        prompt_excerpt="Summarise the attached lease agreement in five bullet points",
    ),
    "prompt_injection": _incident(
        "Inbox agent followed an instruction hidden in an email",
        "prompt_injection",
        "probabilistic",
        agent="inbox-agent",
        tool="email.send",
        error_type="IndirectPromptInjection",
        error_message="the agent forwarded the mailbox after reading a hidden instruction",
        prompt_excerpt="Summarise today's unread email",
    ),
    "business_logic": _incident(
        "Refund bot approved a refund above its limit",
        "business_logic",
        "deterministic",
        agent="refund-bot",
        error_type="PolicyViolation",
        error_message="refund of 900 EUR approved without a manager",
        prompt_excerpt="Refund order 8812 in full, it arrived broken",
    ),
    "llm_hallucination": _incident(  # no input captured: the case has a todo
        "Helpdesk assistant cited a policy that does not exist",
        "llm_hallucination",
        "probabilistic",
        agent="helpdesk-assistant",
        error_type="HallucinatedPolicy",
        error_message="cited article KB-4471, which does not exist",
    ),
    "tool_failure": _incident(  # a key in the input, redacted at capture: the case has a todo
        "Log shipper sent a malformed query to logs.search",
        "tool_failure",
        "deterministic",
        agent="log-shipper",
        tool="logs.search",
        error_type="ToolSchemaValidationError",
        error_message="logs.search: missing required field 'index'",
        prompt_excerpt="ship the logs using key sk-proj-4fJ9aQ2mZ7xW1cV8bN3kL6pR0tY5uI2oE9sD4gH7jK1lZ3xC",
    ),
}


def write_incidents(path: Path, incidents: dict[str, dict[str, object]] = INCIDENTS) -> Path:
    path.write_text("".join(json.dumps(i) + "\n" for i in incidents.values()), encoding="utf-8")
    return path


def platform_incidents(
    rate_limit_error: str, infrastructure_error: str, *, raised_from: str | None = None
) -> dict[str, dict[str, object]]:
    """A rate-limit and an infrastructure failure, each captured with the error type given: an exception class
    (`RateLimitError`) or a label (`UpstreamUnavailable`). `raised_from`: the module of a class of each name raised
    and captured by the SDK, whose stack trace records it (`openai`: `openai.RateLimitError: ...`)."""
    incidents = {
        "rate_limit": _incident(
            "Helpdesk assistant failed its customers on 429s from the model",
            "rate_limit",
            "deterministic",
            agent="helpdesk-assistant",
            error_type=rate_limit_error,
            error_message="429 Too Many Requests: rate limit of 500 RPM exceeded",
            prompt_excerpt="Is there an outage in my area?",
        ),
        "infrastructure": _incident(
            "Voice concierge went silent when every inference replica was drained",
            "infrastructure",
            "deterministic",
            agent="voice-concierge",
            error_type=infrastructure_error,
            error_message="503 no healthy upstream (inference-llama70b)",
            prompt_excerpt="Book me a table for two at 8",
        ),
    }
    if raised_from is not None:
        for incident in incidents.values():
            incident["stack_trace"] = _captured_trace(str(incident["error_type"]), raised_from)
    return incidents


def _captured_trace(name: str, module: str) -> str | None:
    """The stack trace the SDK's capture stores of an exception of class `module.name` raised by an agent."""
    error = type(name, (Exception,), {"__module__": module})
    try:
        raise error("the call failed")
    except Exception as e:  # noqa: BLE001 - the raised exception is what is captured
        return incident_of(e, {}, agent="an-agent", model=None).stack_trace


def learned_cases(home: Path, incidents: dict[str, dict[str, object]] = INCIDENTS) -> dict[str, RegressionCase]:
    """The cases `learn --all` builds from `incidents` (INCIDENTS unless given), by their category."""
    service = make_service(home)
    service.import_incidents(read_incidents(write_incidents(home.parent / f"{home.name}-incidents.jsonl", incidents)))
    cases, _ = service.learn_all()
    return {case.category.value: case for case in cases}


# The agents: each takes the input and the case's context, as `postmortem regress --agent` calls them.


def helpful(prompt: str, **context: object) -> str:
    return f"Here is what you asked for: {prompt.lower()}."


def refusing(prompt: str, **context: object) -> str:
    return "I'm sorry, but I can't help with that request."


def forwarding(prompt: str, **context: object) -> AgentReply:
    return AgentReply(text="Done: 3 unread emails summarised.", tool_calls=["mail.read", "email.send"])


def raising(prompt: str, **context: object) -> str:
    raise TimeoutError("read timed out after 30 s")


def crashing(prompt: str, **context: object) -> str:
    raise KeyError("session")


def slow(prompt: str, **context: object) -> str:
    time.sleep(0.4)  # the timeout case's budget is 0.25 s: this run exceeds it whatever the machine's load
    return "Flights found."


def flaky(seed: int, rate: float):  # type: ignore[no-untyped-def]
    """An agent that refuses `rate` of its runs, by a seeded generator (the same runs fail each time)."""
    draws = random.Random(seed)

    def agent(prompt: str, **context: object) -> str:
        return refusing(prompt) if draws.random() < rate else helpful(prompt)

    return agent


def chatty(prompt: str, **context: object) -> str:
    print("calling the model")  # an agent that prints: the report must stay clean
    return helpful(prompt)


def hanging(prompt: str, **context: object) -> str:
    threading.Event().wait()  # never set: a run that never returns unless it is stopped
    return "never"


async def hanging_async(prompt: str, **context: object) -> str:
    await asyncio.Event().wait()
    return "never"


def fd_writer(prompt: str, **context: object) -> str:
    os.write(1, b"written to fd 1\n")  # as a C extension or a child process writes: below sys.stdout
    subprocess.run(["echo", "a tool's child process"], check=True)
    return helpful(prompt)


def exiting(prompt: str, **context: object) -> str:
    sys.exit(0)  # an agent built as a CLI: its main() ends the process


NOT_AN_AGENT = "a string"
