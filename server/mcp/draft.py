"""MCP drafting: one analysis schema, four writers.

`draft_analysis` asks, in this order, (1) the connected client's own model through MCP sampling, when the client
declares sampling and POSTMORTEM_LLM is auto or sampling; (2) the configured LLM (an OpenAI-compatible endpoint,
or the embedded llama.cpp model). When neither is there, (3) the assistant itself writes the analysis: the
`five_whys` prompt hands it the grounded context and the schema, and `record_analysis` validates and stores what
it wrote. Every path is validated and grounded by the same service code.
"""

import hashlib
import hmac
import secrets
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated

from mcp.server.mcpserver import Context, MCPServer, Resolve, Sample
from mcp.server.mcpserver.exceptions import ToolError
from mcp.shared.exceptions import MCPError
from mcp.types import INVALID_PARAMS, CallToolResult, CreateMessageResult, SamplingMessage, TextContent
from mcp_types.version import MODERN_PROTOCOL_VERSIONS
from pydantic import Field

from agent_postmortem import prompts
from agent_postmortem.errors import NO_WRITER_HELP, DraftError, IncidentNotFound, InvalidId, LLMUnavailable
from agent_postmortem.mcp.common import TEXT, IncidentId, structured, tool_errors
from agent_postmortem.store.models import Analysis, Incident

if TYPE_CHECKING:  # drafting and llm pull in numpy and openai: keep them off the handshake path
    from agent_postmortem.service.drafting import DraftContext
    from agent_postmortem.service.facade import PostmortemService

SAMPLING_MAX_TOKENS = 2_000


class ClientModel:
    """Asks the connected client's model for a draft through MCP sampling, when the client offers it, and once more
    with what was wrong when its answer is not a valid analysis.

    A sampling request must be identical each time its resolver runs (the client answers one round and the call is
    retried), so its delimiter nonce is derived from the incident id with a per-process secret: stable within the
    process, unguessable by whoever wrote the incident text; the repair request is built from the first answer."""

    def __init__(self, svc: Callable[[], "PostmortemService"], *, enabled: bool) -> None:
        self.svc = svc
        self.enabled = enabled
        self._secret = secrets.token_bytes(32)

    def nonce_for(self, incident_id: str) -> str:
        return hmac.new(self._secret, incident_id.strip().upper().encode(), hashlib.sha256).hexdigest()[:16]

    def request(self, incident_id: str, ctx: Context) -> Sample | None:
        """The first resolver: a sampling request, or None to fall through to the server's own LLM."""
        caps = ctx.client_capabilities
        if not self.enabled or caps is None or caps.sampling is None:
            return None
        if ctx.protocol_version not in MODERN_PROTOCOL_VERSIONS and not ctx.session.can_send_request:
            return None  # a legacy client on stateless HTTP: no channel back to it
        try:
            context = self.svc().draft_context(incident_id, nonce=self.nonce_for(incident_id))
        except (IncidentNotFound, InvalidId):
            return None  # the tool body reports the bad id
        return self._sample(context, [])

    def repair(self, incident_id: str, first: CreateMessageResult | None) -> Sample | None:
        """The second resolver: when the first answer is not a valid analysis, the repair round (the conversation so
        far and what was wrong with the answer); None when there is nothing to repair."""
        if first is None:
            return None
        context = self.svc().draft_context(incident_id, nonce=self.nonce_for(incident_id))
        problem = _problem(first, context.incident)
        if problem is None:
            return None
        from agent_postmortem.llm.answers import repair_request

        said = SamplingMessage(role="assistant", content=TextContent(type="text", text=_text_of(first)[:8_000]))
        wrong = repair_request(problem, truncated=first.stop_reason == "maxTokens")
        return self._sample(context, [said, _user(wrong)])

    def draft(
        self, incident_id: str, first: CreateMessageResult | None, second: CreateMessageResult | None
    ) -> Analysis:
        """Store the client model's valid draft; without sampling, draft with the server's LLM."""
        service = self.svc()
        if first is None:
            try:
                return service.draft_analysis(incident_id)
            except LLMUnavailable:
                raise ToolError(NO_WRITER_HELP) from None
        answer = first if second is None else second
        context = service.draft_context(incident_id, nonce=self.nonce_for(incident_id))
        wrong = _problem(answer, context.incident)
        if wrong is not None:
            raise DraftError(
                f"your model's analysis was not valid after one repair round ({wrong}). Call draft_analysis again, "
                "or write the analysis yourself: get the five_whys prompt and call record_analysis"
            )
        return service.record_analysis_text(context, _text_of(answer), generated_by="sampling", llm_model=answer.model)

    @staticmethod
    def _sample(context: "DraftContext", more: list[SamplingMessage]) -> Sample:
        return Sample(
            [_user(context.user), *more],
            max_tokens=SAMPLING_MAX_TOKENS,
            system_prompt=context.with_schema(),
            temperature=0,
        )


def register_draft_tools(mcp: MCPServer, svc: Callable[[], "PostmortemService"], *, sampling: bool) -> None:
    client_model = ClientModel(svc, enabled=sampling)

    def repair(
        incident_id: str, first: Annotated[CreateMessageResult | None, Resolve(client_model.request)]
    ) -> Sample | None:
        return client_model.repair(incident_id, first)

    @mcp.tool()
    def draft_analysis(
        incident_id: IncidentId,
        first: Annotated[CreateMessageResult | None, Resolve(client_model.request)] = None,
        second: Annotated[CreateMessageResult | None, Resolve(repair)] = None,
    ) -> CallToolResult:
        """Draft the 5 whys, root cause, contributing factors (a causal graph) and action items, grounded in the
        incident, its timeline and similar past incidents, with your client's model when it offers sampling or
        with the server's configured LLM. Stored as a draft for review. If no model is available, get the
        five_whys prompt, write the analysis yourself and store it with record_analysis."""
        with tool_errors():
            return structured(client_model.draft(incident_id, first, second))

    @mcp.tool()
    def record_analysis(
        incident_id: IncidentId,
        analysis_json: Annotated[
            str,
            Field(
                min_length=2,
                max_length=20_000,
                description="the analysis as one JSON object following the schema in the five_whys prompt",
            ),
            TEXT,
        ],
    ) -> CallToolResult:
        """Store an analysis you wrote yourself (after the five_whys prompt): it is validated against the schema,
        citations of incidents that were not in the prompt are removed, and repeated action items are linked to
        the open ones. Stored as a draft for review; a validation error says which fields to fix."""
        with tool_errors():
            service = svc()
            context = service.draft_context(incident_id)
            return structured(service.record_analysis_text(context, analysis_json, generated_by="assistant"))

    @mcp.prompt(title="Write the 5 whys yourself")
    def five_whys(incident_id: str) -> str:
        """The grounded context and the schema for writing an incident's analysis, to store with record_analysis."""
        try:
            context = svc().draft_context(incident_id)
        except (IncidentNotFound, InvalidId) as e:  # a protocol error the client can act on, not a crash to log
            raise MCPError(INVALID_PARAMS, f"{e}; list incidents with the list_incidents tool") from None
        return prompts.render(
            "five_whys", system=context.with_schema(), user=context.user, incident_id=context.incident.id
        )


def _text_of(result: CreateMessageResult) -> str:
    content = result.content
    blocks = content if isinstance(content, list) else [content]
    return "".join(b.text for b in blocks if isinstance(b, TextContent))


def _user(text: str) -> SamplingMessage:
    return SamplingMessage(role="user", content=TextContent(type="text", text=text))


def _problem(answer: CreateMessageResult, incident: "Incident") -> str | None:
    """What is wrong with a sampled answer as an analysis of `incident` (the schema, then the draft guard), or None."""
    from agent_postmortem.service.drafting import draft_problems

    wrong = draft_problems(_text_of(answer), incident)
    if answer.stop_reason == "maxTokens":
        return f"the answer was cut off at the token limit ({SAMPLING_MAX_TOKENS} tokens)" + (
            f"; {wrong}" if wrong else ""
        )
    return wrong
