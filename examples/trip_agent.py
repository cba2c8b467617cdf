"""A small trip-planning agent instrumented with the recorder: run it, then look at what was captured.

    POSTMORTEM_HOME=/tmp/pm-example .venv/bin/python examples/trip_agent.py
    POSTMORTEM_HOME=/tmp/pm-example .venv/bin/postmortem list

(or `source .venv/bin/activate` first: `make install` puts both in the venv, on no PATH).

It needs no network and no LLM: the "tools" below fail the way real ones do (a rate-limited API hit three times,
a refund over the policy limit, a tool called with arguments its schema does not allow), and the recorder captures
each failure through the same path as the MCP server (redaction, classification, severity, triage). The three
rate-limit failures become one incident with three occurrences.
"""

import json
import sys

from agent_postmortem import Recorder

recorder = Recorder(agent="trip-planner", model="gpt-4.1-mini")


class RateLimited(Exception):
    pass


class PolicyViolation(Exception):
    pass


@recorder.watch(tool="flights.search")
def search_flights(origin: str, destination: str) -> list[dict[str, str]]:
    raise RateLimited(f"429 Too Many Requests from flights API for {origin}-{destination}; retry after 30 s")


def refund(order_id: str, amount_eur: float) -> None:
    if amount_eur > 500:
        raise PolicyViolation(f"refund of {amount_eur} EUR for {order_id} exceeds the 500 EUR limit without approval")


def book_hotel(arguments: dict[str, object]) -> None:
    allowed = {"city", "check_in", "nights"}
    unknown = sorted(set(arguments) - allowed)
    if unknown:
        error = ValueError(f"hotels.book called with arguments its schema does not allow: {', '.join(unknown)}")
        recorder.capture(error, tool="hotels.book", tool_args=json.dumps(arguments), user_facing=False)


def main() -> int:
    for _ in range(3):  # the agent retries without backing off: one incident, three occurrences
        try:
            search_flights("CPH", "LIS")
        except RateLimited:
            pass
    try:  # the context manager records the exception on its way out, then lets it go on to the agent's handler
        with recorder.watching(tool="payments.refund", prompt="Refund my cancelled trip, order 8812", user_facing=True):
            refund("ORD-8812", 740.0)
    except PolicyViolation:
        pass
    book_hotel({"city": "Lisbon", "check_in": "2026-12-03", "nights": 2, "discount_code": "STAFF100"})
    recorder.flush()
    sys.stderr.write(f"recorded; dropped {recorder.dropped}, failed {recorder.failed}\n")
    return 1 if recorder.failed or recorder.dropped else 0


if __name__ == "__main__":
    sys.exit(main())
