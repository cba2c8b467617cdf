"""A client's model for the drafting tests: a sampling callback that answers with queued texts and records what it was
asked, and a draft through it."""

from typing import Any

from mcp import Client
from mcp.types import CreateMessageRequestParams, CreateMessageResult, TextContent

from agent_postmortem.mcp.server import create_server
from tests.factories import CAPTURE


class Sampler:
    """A client model: answers sampling requests with queued texts and records what it was asked."""

    def __init__(self, *answers: str | tuple[str, str]) -> None:
        """Each answer is a text, or (text, stop reason); the last one is repeated."""
        self.answers = [a if isinstance(a, tuple) else (a, "endTurn") for a in answers]
        self.requests: list[CreateMessageRequestParams] = []

    async def __call__(self, context: Any, params: CreateMessageRequestParams) -> CreateMessageResult:
        self.requests.append(params)
        text, stop = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        return CreateMessageResult(
            role="assistant", model="client-model", content=TextContent(type="text", text=text), stop_reason=stop
        )


def fenced(text: str) -> str:
    return f"```json\n{text}\n```"


async def drafted(service: Any, sampler: Sampler, mode: str) -> Any:
    """Capture CAPTURE and draft it with the client's model; the draft_analysis result."""
    async with Client(create_server(lambda: service), mode=mode, sampling_callback=sampler) as client:
        incident_id = (await client.call_tool("capture_incident", CAPTURE)).structured_content["id"]  # type: ignore[index]
        return await client.call_tool("draft_analysis", {"incident_id": incident_id})
