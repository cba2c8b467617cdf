"""What the MCP tool modules share: argument types, and the one place domain errors become tool errors.

Text parameters are declared exactly `str` (with `TEXT` or `OPTIONAL`), never `str | None`: the MCP SDK runs
`json.loads` on any string argument whose parameter is not exactly `str` and passes on what it parsed, so
`tool_args='{"order": "A-1001"}'` would arrive as a dict and be rejected. An optional text parameter's default is ""
(absent); tool bodies turn "" into None where the service wants None.
"""

import json
import logging
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Annotated, Any, Literal

from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.lowlevel.helper_types import ReadResourceContents
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceNotFoundError, ToolError, UnexpectedToolError
from mcp.shared.exceptions import MCPError
from mcp.types import (
    INVALID_PARAMS,
    CallToolResult,
    GetPromptResult,
    Icon,
    InputRequiredResult,
    TextContent,
    ToolAnnotations,
)
from pydantic import (
    AfterValidator,
    AnyUrl,
    BaseModel,
    BeforeValidator,
    Field,
    TypeAdapter,
    ValidationError,
    ValidatorFunctionWrapHandler,
    WrapValidator,
)

from agent_postmortem.errors import (
    ActionItemNotFound,
    CorruptRecord,
    IncidentNotFound,
    InvalidId,
    PostmortemError,
    is_storage_failure,
    shown_on,
    storage_failure,
    validation_problems,
)
from agent_postmortem.mcp.arguments import argument_problems
from agent_postmortem.mcp.client_arguments import checked, nullable, unquoted
from agent_postmortem.mcp.views import with_undated
from agent_postmortem.mcp.wrapped_text import unwrapped_id
from agent_postmortem.store.errors import IndexLoading, ReadOnlyStore, StoreBusy, an
from agent_postmortem.store.models import RANGE_BOUND, Since, Through, When
from agent_postmortem.store.vocabulary import LIMIT, REOPEN_NOTE_LIMIT, REOPENED

logger = logging.getLogger(__name__)
READ = ToolAnnotations(read_only_hint=True)


def _as_text(value: object) -> object:
    """What a client sent for a text parameter, as text: null is absent (""), and an object, array, number or
    boolean (sent where its JSON text was meant, e.g. tool_args) becomes its JSON text."""
    if value is None:
        return ""
    if isinstance(value, dict | list | int | float):  # bool is an int
        return json.dumps(value, ensure_ascii=False)
    return value


def _optional_text(value: object, handler: ValidatorFunctionWrapHandler) -> object:
    value = _as_text(value)
    return "" if value == "" else handler(value)  # blank is absent: the length bounds apply to given text only


# Put these after the Field(...) that holds the bounds, so the bounds apply to the text they produce.
TEXT = BeforeValidator(_as_text)
OPTIONAL = WrapValidator(_optional_text)
INCIDENT_ID = BeforeValidator(lambda v: unwrapped_id(_as_text(v), "incident_id"))  # `{"incident_id": "INC-1"}`
ACTION_ID = BeforeValidator(lambda v: unwrapped_id(_as_text(v), "action_id"))
IncidentId = Annotated[str, Field(max_length=24, description="an incident id such as INC-42"), INCIDENT_ID]
ActionId = Annotated[str, Field(max_length=24, description="an action item id such as AI-7"), ACTION_ID]
AnyIncidentId = Annotated[str, Field(max_length=24, description="an incident id such as INC-42"), OPTIONAL, INCIDENT_ID]
Line = Annotated[str, Field(max_length=200), OPTIONAL]  # optional one-line text; "" is absent
Text = Annotated[str, Field(max_length=2_000), OPTIONAL]
LongText = Annotated[str, Field(max_length=20_000), OPTIONAL]
ReopenNote = Annotated[
    str, Field(max_length=REOPEN_NOTE_LIMIT, description=f"kept on the timeline after {REOPENED.strip()!r}"), OPTIONAL
]
# '"2026-12-31"' (its JSON text, from a client that encodes every argument once more) is the time inside
Moment = Annotated[str, Field(max_length=40, description="ISO 8601 date or time"), OPTIONAL, AfterValidator(unquoted)]
Limit = Annotated[int, Field(ge=LIMIT[0], le=LIMIT[1])]
Offset = Annotated[int, Field(ge=0, le=100_000)]
Sev = Literal["SEV1", "SEV2", "SEV3", "SEV4"]
Prio = Literal["P0", "P1", "P2"]
ActStatus = Literal["open", "in_progress", "completed"]


class PostmortemServer(MCPServer):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._schemas: dict[str, dict[str, Any]] = {}  # each tool's input schema, as tools/list gives it
        super().__init__(*args, **kwargs)

    def add_tool(
        self,
        fn: Callable[..., Any],
        name: str | None = None,
        title: str | None = None,
        description: str | None = None,
        annotations: ToolAnnotations | None = None,
        icons: list[Icon] | None = None,
        meta: dict[str, Any] | None = None,
        structured_output: bool | None = None,
    ) -> None:
        """As the SDK's, with the docstring folded into one line (its indentation was sent to every client), and
        optional numbers and flags published nullable (client_arguments.nullable)."""
        description = description or " ".join((fn.__doc__ or "").split())
        super().add_tool(fn, name, title, description, annotations, icons, meta, structured_output)
        tool = self._tool_manager.get_tool(name or fn.__name__)
        if tool is not None:
            tool.parameters = nullable(tool.parameters)
        self._schemas.clear()

    async def call_tool(
        self, name: str, arguments: dict[str, Any], context: Context[Any, Any] | None = None
    ) -> CallToolResult | InputRequiredResult:
        """As the SDK's, but arguments that fail the input schema get one sentence naming each argument and what it
        allows, instead of pydantic's report (which quotes the rejected value and links pydantic's docs); an argument
        the tool does not take is refused (the SDK dropped it without a word); null for an optional argument is its
        absence (clients that fill every argument send null for those not meant); and a
        failure of the database or of opening the knowledge base, in any tool, says what it is and what to do
        instead of the SDK's bare "Error executing tool X". Errors name tools, not commands (server/errors.py)."""
        with shown_on("mcp", remote=get_access_token() is not None):
            return await self._call_tool(name, arguments, context)

    async def _call_tool(
        self, name: str, arguments: dict[str, Any], context: Context[Any, Any] | None
    ) -> CallToolResult | InputRequiredResult:
        if not self._schemas:
            self._schemas = {tool.name: tool.input_schema for tool in await self.list_tools()}
        if name not in self._schemas:  # the SDK's answer repeated the name sent, whatever it was (a secret, 300 KB)
            raise ToolError(f"No tool of that name; the tools are: {', '.join(self._schemas)}.")
        arguments = checked(self._schemas[name], name, arguments or {})
        try:
            return await super().call_tool(name, arguments, context)
        except UnexpectedToolError as e:  # as the SDK says a tool's own ToolError (tool_errors): after the tool's name
            cause, by = e.__cause__, f"Error executing tool {name}: "
            if isinstance(cause, PostmortemError):
                raise ToolError(f"{by}{cause}") from None
            if cause is not None and is_storage_failure(cause):
                logger.warning("storage failure: %s", str(getattr(cause, "orig", cause)).splitlines()[0][:200])
                raise ToolError(f"{by}{storage_failure(cause)}") from None
            raise
        except ToolError as e:
            if not isinstance(e.__cause__, ValidationError):
                raise
            raise ToolError(argument_problems(self._schemas.get(name, {}), e.__cause__)) from e.__cause__

    async def read_resource(
        self, uri: AnyUrl | str, context: Context[Any, Any] | None = None
    ) -> Iterable[ReadResourceContents] | InputRequiredResult:
        """As the SDK's, but a URI that matches no resource is not sent back (it was, whole: 5,000 characters, or a
        secret a model put there); the answer names the resources and templates there are instead."""
        try:
            with shown_on("mcp", remote=get_access_token() is not None):
                return await super().read_resource(uri, context)
        except ResourceNotFoundError as e:
            if not str(e).startswith("Unknown resource"):
                raise
            there = [str(r.uri) for r in await self.list_resources()]
            there += [t.uri_template for t in await self.list_resource_templates()]
            raise ResourceNotFoundError(f"No resource at that URI; the resources are: {', '.join(there)}.") from None

    async def get_prompt(
        self, name: str, arguments: dict[str, Any] | None = None, context: Context[Any, Any] | None = None
    ) -> GetPromptResult | InputRequiredResult:
        """As the SDK's, but an unknown prompt, an argument it does not take or a missing required one is invalid
        params (-32602), as the specification asks, naming the prompts there are or the arguments it takes (the SDK
        answered error code 0; the name sent is not repeated). Errors name tools, not commands (server/errors.py)."""
        with shown_on("mcp", remote=get_access_token() is not None):
            return await self._get_prompt(name, arguments, context)

    async def _get_prompt(
        self, name: str, arguments: dict[str, Any] | None, context: Context[Any, Any] | None
    ) -> GetPromptResult | InputRequiredResult:
        prompt = self._prompt_manager.get_prompt(name)
        if prompt is None:
            there = ", ".join(p.name for p in self._prompt_manager.list_prompts())
            raise MCPError(INVALID_PARAMS, f"no such prompt; the prompts are: {there} (prompts/list)")
        takes = [a.name for a in prompt.arguments or []]
        unknown = [k for k in arguments or {} if k not in takes]
        if unknown:  # the SDK's answer was error code 0, "Error rendering prompt", and a traceback in the log
            sent = "1 argument it does not take was" if len(unknown) == 1 else f"{len(unknown)} it does not take were"
            raise MCPError(INVALID_PARAMS, f"the {name} prompt takes only: {', '.join(takes)}; {sent} sent")
        missing = [a.name for a in prompt.arguments or [] if a.required and not (arguments or {}).get(a.name)]
        if missing:
            raise MCPError(INVALID_PARAMS, f"the {name} prompt needs the argument {', '.join(missing)}")
        return await super().get_prompt(name, arguments, context)


_WHEN: TypeAdapter[datetime] = TypeAdapter(When)
_BOUNDS: dict[str, TypeAdapter[datetime]] = {"start": TypeAdapter(Since), "end": TypeAdapter(Through)}


def structured(result: BaseModel, *, note: str | None = None, more: dict[str, Any] | None = None) -> CallToolResult:
    """A tool's answer: the result as JSON text (what the calling model reads) and as structured content (for
    programs), with no output schema. The schemas derived from the result models were 70 KB of the 88 KB tools/list
    that every client loads into its context each session, and the text already says everything they did. `note`:
    something about the answer the caller should know (in a `note` field); `more`: fields added beside the result's."""
    data = {**result.model_dump(mode="json"), **(more or {})}
    if note:
        data["note"] = note
    with_undated(data)
    text = json.dumps(data, indent=2, ensure_ascii=False)
    return CallToolResult(content=[TextContent(type="text", text=text)], structured_content=data)


def when(value: str | None, name: str, *, edge: Literal["start", "end"] | None = None) -> datetime | None:
    """An ISO 8601 argument; `edge`: the start or the end of a range, where a year, a month or a day alone stands for
    the whole of it (`until: "2026-12"` is up to December's last instant)."""
    try:
        return None if not value else (_BOUNDS[edge] if edge else _WHEN).validate_python(value)
    except ValidationError as e:
        own = [str(x["msg"]).removeprefix("Value error, ") for x in e.errors() if x["type"] == "value_error"]
        said = next((x for x in own if not x.startswith("expected ")), None)
        if said is not None and said.startswith("out of range"):  # a well-formed time outside what is stored
            raise ToolError(f"{name} is {said}.") from None
        if said is not None:  # no such day or month, a number: the rule's own sentence, as the CLI and web say it
            raise ToolError(f"{name}: {said}.") from None
        if edge:
            raise ToolError(f"{name} must be {RANGE_BOUND}.") from None
        raise ToolError(f"{name} must be an ISO 8601 date or time, e.g. 2026-11-27 or 2026-11-27T10:00:00Z.") from None


def invalid_id(e: InvalidId) -> str:
    if e.several:
        return f"That is more than one {e.kind} id; give one per call, such as {e.prefix}42."
    if e.pattern:  # where its incidents are, as a client reads them
        return f"{e.pattern} is a pattern id; {an(e.kind)} id is wanted here. Its incidents: runbook://{e.pattern}."
    if e.other:
        return f"That is {an(e.other)} id; {an(e.kind)} id is wanted here, such as {e.prefix}42."
    return f"That is not a valid {e.kind} id; ids look like {e.prefix}42."


@contextmanager
def tool_errors() -> Iterator[None]:
    """Turn domain errors into messages a calling model can act on; never echo rejected values."""
    try:
        yield
    except IncidentNotFound as e:
        raise ToolError(
            f"No incident {e.incident_id!r}. Call list_incidents or search_incidents for valid ids."
        ) from None
    except ActionItemNotFound as e:
        raise ToolError(f"No action item {e.action_id!r}. Call list_action_items for valid ids.") from None
    except InvalidId as e:
        raise ToolError(invalid_id(e)) from None
    except CorruptRecord as e:
        raise ToolError(f"{e}.") from None
    except ValidationError as e:
        raise ToolError(f"Invalid input: {validation_problems(e)}. Fix those fields and call again.") from None
    except (PostmortemError, IndexLoading, ReadOnlyStore, StoreBusy) as e:
        raise ToolError(str(e)) from None
    except Exception as e:
        if not is_storage_failure(e):
            raise
        logger.warning("storage failure: %s", str(getattr(e, "orig", e)).splitlines()[0][:200])
        raise ToolError(storage_failure(e)) from None
