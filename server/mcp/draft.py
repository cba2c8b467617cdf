"""MCP drafting: one analysis schema, three writers.

`draft_analysis` asks, in this order, (1) the connected client's own model through MCP sampling, when the client
declares sampling and POSTMORTEM_LLM is auto or sampling; (2) the model configured on the server (an OpenAI-compatible
endpoint, or a GGUF on the embedded llama.cpp server), reporting each stage as MCP progress, within a time limit.
When neither is there, (3) the assistant itself writes the analysis: `draft_analysis` answers (a normal result, not
an error) with the grounded context, the rules and the schema (status `write_it_yourself`, nothing stored), as the
`five_whys` prompt does, and `record_analysis` validates and stores what it wrote. Every path is validated and
grounded by the same service code.
"""

import hashlib
import hmac
import logging
import secrets
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated

import anyio.from_thread
import anyio.to_thread
from mcp.server.mcpserver import Context, MCPServer, Resolve, Sample
from mcp.types import CallToolResult, CreateMessageResult, SamplingMessage, TextContent
from pydantic import Field

from agent_postmortem.errors import DraftError, IncidentNotFound, InvalidId, LLMUnavailable, NoModelConfigured
from agent_postmortem.mcp.common import TEXT, IncidentId, structured, tool_errors
from agent_postmortem.mcp.missing import incident_found
from agent_postmortem.mcp.sampling import (
    Answer,
    Deadlines,
    Refused,
    ask,
    no_channel_back,
    not_text,
    text_of,
    user_message,
    wire_key,
)
from agent_postmortem.mcp.wrapped_text import unwrapped_id
from agent_postmortem.store.models import Analysis, Incident

if TYPE_CHECKING:  # drafting and llm pull in numpy and openai: keep them off the handshake path
    from agent_postmortem.service.drafting import DraftContext, Progress
    from agent_postmortem.service.facade import PostmortemService
    from agent_postmortem.service.results import WriteItYourself

logger = logging.getLogger(__name__)
SAMPLING_MAX_TOKENS = 2_000
Track = Annotated[bool, Field(description="true: also track its proposed action items, as `postmortem draft --track`")]


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
        if no_channel_back(ctx):
            return None
        try:
            context = self.svc().draft_context(incident_id, nonce=self.nonce_for(incident_id))
        except (IncidentNotFound, InvalidId):
            return None  # the tool body reports the bad id
        return self._sample(context, [])

    def repair(self, incident_id: str, first: Answer) -> Sample | None:
        """The second resolver: when the first answer is not a valid analysis, the repair round (the conversation so
        far and what was wrong with the answer); None when there is nothing to repair."""
        if not isinstance(first, CreateMessageResult):
            return None
        service = self.svc()
        context = service.draft_context(incident_id, nonce=self.nonce_for(incident_id))
        problem = _problem(service, first, context.incident)
        if problem is None:
            return None
        from agent_postmortem.llm.answers import repair_request

        said = SamplingMessage(role="assistant", content=TextContent(type="text", text=text_of(first)[:8_000]))
        wrong = repair_request(problem, truncated=first.stop_reason == "maxTokens")
        return self._sample(context, [said, user_message(wrong)])

    def draft(
        self,
        incident_id: str,
        first: Answer,
        second: Answer,
        progress: "Progress",
        *,
        no_channel: bool = False,
        track: bool = False,
    ) -> CallToolResult:
        """Store the client model's valid draft; without sampling, draft with the server's model; with neither, hand
        the assistant what it needs to write the analysis itself (also when the client refused to sample)."""
        service = self.svc()
        refused = first if isinstance(first, Refused) else second if isinstance(second, Refused) else None
        if refused is not None:
            why = refused.why("first" if refused is first else "repair")
            return _write_it_yourself(service.write_it_yourself(incident_id, why=why))
        answer = second if isinstance(second, CreateMessageResult) else first
        if not isinstance(answer, CreateMessageResult):
            return self._without_sampling(service, incident_id, progress, no_channel=no_channel, track=track)
        context = service.draft_context(incident_id, nonce=self.nonce_for(incident_id))
        wrong = _problem(service, answer, context.incident)
        if wrong is not None:
            raise DraftError(
                f"your model's analysis was not valid after one repair round ({wrong}). Call draft_analysis again, "
                "or write the analysis yourself: get the five_whys prompt and call record_analysis"
            )
        stored = service.record_analysis_text(context, text_of(answer), generated_by="sampling", llm_model=answer.model)
        return _with_tracked(service, incident_id, stored, track=track)

    def _without_sampling(
        self, service: "PostmortemService", incident_id: str, progress: "Progress", *, no_channel: bool, track: bool
    ) -> CallToolResult:
        try:
            return _with_tracked(
                service, incident_id, service.draft_analysis(incident_id, progress=progress), track=track
            )
        except NoModelConfigured:
            return _write_it_yourself(service.write_it_yourself(incident_id, why=self._no_model(no_channel)))
        except LLMUnavailable as e:  # configured but not working: say so rather than hide it
            raise LLMUnavailable(
                f"{e}. Fix the model's settings, or write the analysis yourself: get the five_whys prompt and "
                "call record_analysis"
            ) from None

    def _no_model(self, no_channel: bool) -> str:
        if self.enabled and no_channel:  # the client may well offer sampling: the request cannot reach it
            return (
                "this server runs stateless HTTP, which has no channel back to a client on the 2025 protocol to ask "
                "its model (serve without --stateless, or use a client on the 2026-07-28 protocol), and the server "
                "has no model configured"
            )
        if self.enabled:
            return "your client offers no MCP sampling and the server has no model configured"
        return "no model is configured on the server, and it is set not to ask your client's model (POSTMORTEM_LLM)"

    @staticmethod
    def _sample(context: "DraftContext", more: list[SamplingMessage]) -> Sample:
        return Sample(
            [user_message(context.user), *more],
            max_tokens=SAMPLING_MAX_TOKENS,
            system_prompt=context.with_schema(),
            temperature=0,
        )


def register_draft_tools(
    mcp: MCPServer, svc: Callable[[], "PostmortemService"], *, sampling: bool, sampling_timeout: float
) -> None:
    """`sampling_timeout`: the seconds the client's model may take to answer a draft's sampling requests (the first and
    the repair round together)."""
    client_model = ClientModel(svc, enabled=sampling)
    deadlines = Deadlines(sampling_timeout)

    async def request(incident_id: str, ctx: Context) -> Sample | CreateMessageResult | Refused | None:
        call = client_model.nonce_for(incident_id)
        if ctx.request_state is None:  # a new call (on 2026-07-28, later rounds echo the state back)
            deadlines.start(call)
        sample = await anyio.to_thread.run_sync(client_model.request, incident_id, ctx)
        return await ask(sample, ctx, left=deadlines.left(call), deadlines=deadlines, key=wire_key(request))

    async def repair(
        incident_id: str, ctx: Context, first: Annotated[Answer, Resolve(request)]
    ) -> Sample | CreateMessageResult | Refused | None:
        sample = await anyio.to_thread.run_sync(client_model.repair, incident_id, first)
        left = deadlines.left(client_model.nonce_for(incident_id))  # what the first round left
        return await ask(sample, ctx, left=left, deadlines=deadlines, key=wire_key(repair))

    @mcp.tool()
    def draft_analysis(
        incident_id: IncidentId,
        ctx: Context,
        first: Annotated[Answer, Resolve(request)] = None,
        second: Annotated[Answer, Resolve(repair)] = None,
        track: Track = False,
    ) -> CallToolResult:
        """Draft the 5 whys, root cause, contributing factors (a causal graph) and action items, grounded in the
        incident, its timeline and similar past incidents, with your client's model when it offers sampling or
        with the model configured on the server; stored as a draft for review (with track, its items tracked too).
        When neither can draft, it returns status "write_it_yourself" with the context, rules and schema instead
        (nothing stored): then write the analysis yourself and store it with record_analysis."""
        with tool_errors():
            no_channel = no_channel_back(ctx)
            return client_model.draft(incident_id, first, second, _progress(ctx), no_channel=no_channel, track=track)

    @mcp.tool()
    def record_analysis(
        incident_id: IncidentId,
        analysis_json: Annotated[
            str,
            Field(
                min_length=2,
                max_length=120_000,  # 20,000 characters as written (each \uXXXX escape one): service/draft_text.py
                description="the analysis as one JSON object following the schema draft_analysis gave",
            ),
            TEXT,
        ],
        track: Track = False,
    ) -> CallToolResult:
        """Store an analysis you wrote yourself (after draft_analysis answered write_it_yourself, or the five_whys
        prompt): it is validated against the schema, citations of incidents that were not in the context are
        removed, and repeated action items are linked to the open ones. Stored as a draft for review (with track,
        its items tracked too); a validation error says which fields to fix."""
        with tool_errors():
            service = svc()
            stored = service.record_analysis_text(
                service.draft_context(incident_id), analysis_json, generated_by="assistant"
            )
            return _with_tracked(service, incident_id, stored, track=track)

    @mcp.prompt(title="Write the 5 whys yourself")
    def five_whys(incident_id: str) -> str:
        """The grounded context and the schema for writing an incident's analysis, to store with record_analysis."""
        with incident_found(prompt=True):  # `{"incident_id": "INC-1"}` or `"INC-1"` is INC-1, as tools read it
            context = svc().draft_context(str(unwrapped_id(incident_id, "incident_id")))
        from agent_postmortem import prompts  # jinja2: loaded when a prompt is asked for, not at start

        return prompts.render(
            "five_whys", system=context.with_schema(), user=context.user, incident_id=context.incident.id
        )


def _with_tracked(service: "PostmortemService", incident_id: str, stored: Analysis, *, track: bool) -> CallToolResult:
    """The stored draft; with `track`, its proposed action items tracked as well, the new items in `tracked`."""
    if not track:
        return structured(stored)
    tracked = service.add_drafted_action_items(incident_id)
    return structured(stored, more={"tracked": [item.model_dump(mode="json") for item in tracked]})


def _write_it_yourself(request: "WriteItYourself") -> CallToolResult:
    """A normal result (not an error): the readable text for the calling model, the parts as structured content."""
    logger.info("no model drafts %s: the assistant is asked to write it", request.incident_id)
    data = request.model_dump(mode="json")
    return CallToolResult(content=[TextContent(type="text", text=request.text)], structured_content=data)


def _progress(ctx: Context) -> "Progress":
    """Each drafting stage as an MCP progress notification (sent only when the client asked for progress). The
    tool body runs in a worker thread: the notification is sent on the server's event loop. A call the client
    cancelled stops at the next stage, so a draft that arrives after the cancellation is not stored."""

    def tell(step: int, of: int, what: str) -> None:
        anyio.from_thread.check_cancelled()
        try:
            anyio.from_thread.run(ctx.report_progress, step, of, what)
        except Exception:  # noqa: BLE001 - a lost progress note must not fail the draft
            logger.debug("could not report drafting progress", exc_info=True)

    return tell


def _problem(service: "PostmortemService", answer: CreateMessageResult, incident: "Incident") -> str | None:
    """What is wrong with a sampled answer as an analysis of `incident` (the schema, then the draft guard with the
    relevance check the stored draft gets), or None. An answer with no text at all (an image, audio) is told so: "it
    holds no JSON object" would not tell the model what it did wrong."""
    if not text_of(answer).strip() and (kinds := not_text(answer)):
        return f"the answer held no text, only {kinds} content: answer in text, with the analysis as one JSON object"
    wrong = service.analysis_problems(text_of(answer), incident)
    if answer.stop_reason == "maxTokens" and wrong is not None:  # a whole valid analysis, then words cut off: kept
        return f"the answer was cut off at the token limit ({SAMPLING_MAX_TOKENS} tokens); {wrong}"
    return wrong
