"""`postmortem capture` and `postmortem classify` (its dry run): one failure, its title given as the first argument
or as --title, the same way in both (a title copied from one command to the other used to be refused)."""

from pathlib import Path
from typing import Annotated, Any

import typer

from agent_postmortem.cli.access import reading
from agent_postmortem.cli.common import JsonOpt, emit, out, service, user_errors

TitleArg = Annotated[str | None, typer.Argument(metavar="TITLE", help="one line: what went wrong", show_default=False)]
TitleOpt = Annotated[str, typer.Option(help="the title, as an option (the same as giving it first)")]
ImpactOpt = Annotated[str | None, typer.Option(help="who or what was affected, how much, how long")]
EnvironmentOpt = Annotated[
    str | None, typer.Option(help="where it ran (production, staging ...): outside production, SEV4 at most")
]

DescriptionOpt = Annotated[str, typer.Option(help="what happened, in as many words as it takes")]
ErrorTypeOpt = Annotated[str | None, typer.Option(help="the error's type or class (RateLimitError)")]
ErrorMessageOpt = Annotated[str | None, typer.Option(help="the error message, as the agent got it")]
AgentOpt = Annotated[str | None, typer.Option(help="the agent that failed")]
PromptOpt = Annotated[
    str | None,
    typer.Option(help="the prompt or request it failed on (stored redacted; `learn` replays it in the case)"),
]
ToolOpt = Annotated[str | None, typer.Option(help="the tool it was calling (flights.search)")]
ModelOpt = Annotated[str | None, typer.Option(help="the model it ran on")]
UserFacingOpt = Annotated[bool, typer.Option(help="a user saw the failure")]
CustomerReportedOpt = Annotated[bool, typer.Option(help="a customer reported it")]


def one_title(text: str | None, title: str, *, needed: bool = True) -> str:
    """The title given either way; both given and different is refused rather than one silently dropped, and none
    given (when no --file gives one) is told as such, not as a title too short."""
    if text is not None and title and text != title:
        raise typer.BadParameter("the title is given twice: give it first or as --title, once", param_hint="TITLE")
    chosen = text if text is not None else title
    if needed and not chosen:
        raise typer.BadParameter("what went wrong, in one line: give it first or as --title", param_hint="TITLE")
    return chosen


def capture(
    text: TitleArg = None,
    title: TitleOpt = "",
    description: DescriptionOpt = "",
    error_type: ErrorTypeOpt = None,
    error_message: ErrorMessageOpt = None,
    agent: AgentOpt = None,
    tool: ToolOpt = None,
    model: ModelOpt = None,
    prompt: PromptOpt = None,
    impact: ImpactOpt = None,
    environment: EnvironmentOpt = None,
    user_facing: UserFacingOpt = False,
    customer_reported: CustomerReportedOpt = False,
    file: Annotated[Path | None, typer.Option(help="a JSON incident instead of options")] = None,
    idempotency_key: Annotated[str | None, typer.Option(help="retries with the same key store nothing new")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Capture a failure: classify, store, and show similar past incidents."""
    from agent_postmortem.ingest.jsonfile import read_model
    from agent_postmortem.sdk.incident import as_the_sdk_takes
    from agent_postmortem.store.models import IncidentCreate

    title = one_title(text, title, needed=file is None)
    given = _fields(locals())
    with user_errors(OPTIONS):
        # one incident, as one line of `import` is: at most 1,000,000 bytes, refused before the rest is read
        data = (
            read_model(file, IncidentCreate, limit=1_000_000, prepare=as_the_sdk_takes)
            if file is not None
            else IncidentCreate.model_validate(given)
        )
        # options beside --file override its fields (they were dropped without a word, and a capture made of the
        # file alone was stored); an option left at its default ("", a flag not given) overrides nothing
        overrides = {k: v for k, v in given.items() if v not in ("", False)} if file is not None else {}
        if idempotency_key is not None or overrides:
            keyed = {"idempotency_key": idempotency_key} if idempotency_key is not None else {}
            data = IncidentCreate.model_validate({**data.model_dump(), **overrides, **keyed})
        result = service().capture_incident(data)
    if not emit(result, as_json):
        from agent_postmortem.cli.view import show_capture

        show_capture(out, result)


def classify(
    text: TitleArg = None,
    title: TitleOpt = "",
    description: DescriptionOpt = "",
    error_type: ErrorTypeOpt = None,
    error_message: ErrorMessageOpt = None,
    agent: AgentOpt = None,
    tool: ToolOpt = None,
    model: ModelOpt = None,
    prompt: PromptOpt = None,
    impact: ImpactOpt = None,
    environment: EnvironmentOpt = None,
    user_facing: UserFacingOpt = False,
    customer_reported: CustomerReportedOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Dry run of capture: category, severity and triage with their reasons, and what is similar; stores nothing.
    It takes the same fields as capture."""
    from agent_postmortem.store.models import IncidentCreate

    title = one_title(text, title)
    given = _fields(locals())
    with user_errors(OPTIONS):
        data = IncidentCreate.model_validate(given)
        with reading() as svc:
            result = svc.classify_incident(data)
    if not emit(result, as_json):
        from agent_postmortem.cli.view import show_decision

        show_decision(out, result)


OPTIONS = {"prompt_excerpt": "--prompt"}  # the incident's field each option gives under another name


def _fields(given: dict[str, Any]) -> dict[str, Any]:
    """The incident's fields the options give: those named as the incident names them, and --prompt as its
    `prompt_excerpt` (the field the SDK's and the MCP tool's prompt is stored in)."""
    from agent_postmortem.store.models import IncidentCreate

    named = {OPTIONS.get(k, k).removeprefix("--"): k for k in IncidentCreate.model_fields}
    return {field: given[option] for option, field in named.items() if given.get(option) is not None}


COMMANDS: list[tuple[str, Any]] = [("capture", capture), ("classify", classify)]
