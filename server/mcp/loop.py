"""MCP tools for follow-through: action items, fix verification and effectiveness, blameless checks, and learning
(runbook entries and regression eval cases)."""

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Literal

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ResourceNotFoundError, ToolError
from mcp.types import CallToolResult
from pydantic import Field

from agent_postmortem.analysis.verify import MAX_COUNT
from agent_postmortem.errors import IncidentNotFound, InvalidId, PostmortemError
from agent_postmortem.mcp.common import (
    OPTIONAL,
    READ,
    TEXT,
    ActionId,
    ActStatus,
    AnyIncidentId,
    IncidentId,
    Limit,
    Line,
    Moment,
    Offset,
    Prio,
    Text,
    structured,
    tool_errors,
    when,
)
from agent_postmortem.mcp.missing import no_incident
from agent_postmortem.mcp.wrapped_text import blameless_as_sent, unwrapped
from agent_postmortem.store.models import ActionItem, ActionItemChange, ActionItemCreate

if TYPE_CHECKING:
    from agent_postmortem.service.facade import PostmortemService

By = Annotated[Line, Field(description="who makes the change: kept in the item's history")]
Count = Annotated[int, Field(ge=0, le=MAX_COUNT)]  # as the CLI and the analysis take them
RECENT_CHANGES = 20  # the changes an update returns; get_action_item returns them all


class UpdatedItem(ActionItem):
    """An item as an update leaves it, with its latest changes only: an item edited for months answered each edit
    with its whole history."""

    history: list[ActionItemChange] = Field(default_factory=list, description="the latest changes, oldest first")
    older_changes: int = Field(0, description="changes before those in history")
    all_changes: str | None = Field(None, description="how to read every change, when some are left out here")


def _latest(item: ActionItem) -> UpdatedItem:
    older = max(0, len(item.history) - RECENT_CHANGES)
    everything = f"get_action_item returns all {len(item.history)} changes of {item.id}" if older else None
    latest = item.history[older:]
    return UpdatedItem(
        **item.model_dump(exclude={"history"}), history=latest, older_changes=older, all_changes=everything
    )


def register_loop_tools(mcp: MCPServer, svc: Callable[[], "PostmortemService"]) -> None:
    _register_action_tools(mcp, svc)
    _register_learning_tools(mcp, svc)
    _register_loop_resources(mcp, svc)


def _register_action_tools(mcp: MCPServer, svc: Callable[[], "PostmortemService"]) -> None:
    @mcp.tool()
    def add_action_item(
        incident_id: IncidentId,
        title: Annotated[str, Field(min_length=3, max_length=300), TEXT],
        owner: Line = "",
        priority: Prio = "P1",
        due_at: Moment = "",
        by: By = "",
    ) -> CallToolResult:
        """Track a follow-up action for an incident, with owner (owner_role is read as owner), priority P0-P2 and
        due date. Before adding one, check the open items that capture_incident returned for similar incidents:
        follow those up instead of repeating them."""
        with tool_errors():
            when(due_at, "due_at")  # its own one sentence, not pydantic's "input is too short"
            item = ActionItemCreate.model_validate(
                {"title": title, "owner": owner or None, "priority": priority, "due_at": due_at or None}
            )
            from agent_postmortem.service.followup import said_of

            added = svc().add_action_item(incident_id, item, by=by or None)
            return structured(added, note=said_of(added, owner=owner, due=True))  # a due date past is kept, and said

    @mcp.tool()
    def update_action_item(
        action_id: ActionId,
        status: ActStatus | None = None,
        owner: Line = "",
        priority: Prio | None = None,
        due_at: Moment = "",
        title: Annotated[str, Field(min_length=3, max_length=300), OPTIONAL] = "",
        by: By = "",
        clear_owner: Annotated[bool, Field(description="true unassigns the item (give no owner with it)")] = False,
        clear_due: Annotated[bool, Field(description="true takes the due date off (give no due_at with it)")] = False,
        expected_changes: Annotated[
            int | None,
            Field(
                ge=1,
                description="how many changes the item's history held when you read it (get_action_item's history, "
                "or history + older_changes here): refused, nothing changed, if it was changed since",
            ),
        ] = None,
    ) -> CallToolResult:
        """Change an action item's status (open, in_progress, completed; completed -> open reopens it), owner
        (or owner_role; clear_owner=true unassigns it), priority, due date (clear_due=true takes it off) or title.
        Only the arguments given change; every change is kept in the item's history. expected_changes refuses the
        update if the item was changed since you read it. Returns the item with its latest 20 changes
        (older_changes counts the others; get_action_item returns them all)."""
        with tool_errors():
            if clear_owner and owner:
                raise ToolError("Give owner to reassign the item or clear_owner=true to unassign it, not both.")
            if clear_due and due_at:
                raise ToolError("Give due_at to move the due date or clear_due=true to take it off, not both.")
            when(due_at, "due_at")
            due = ActionItemCreate.model_validate({"title": "due", "due_at": due_at or None}).due_at
            item, changed = svc().edit_action_item(
                action_id,
                by=by or None,
                expected_changes=expected_changes,
                status=status,
                owner="" if clear_owner else owner or None,  # "" unassigns, None leaves it
                priority=priority,
                due_at="" if clear_due else due,  # "" takes the date off, None leaves it
                title=title or None,
            )
            from agent_postmortem.service.followup import reopened, said_of

            # a due date moved into the past, or an item reopened after it: as add_action_item says it
            said = said_of(item, owner=owner, due=bool(due) or bool(changed and status and reopened(item)))
            if not changed:
                said = " ".join(filter(None, [f"nothing changed: {item.id} already was as given", said]))
            return structured(_latest(item), note=said)

    @mcp.tool(annotations=READ)
    def get_action_item(action_id: ActionId) -> CallToolResult:
        """Get one action item with its full history of changes (who changed what, when)."""
        with tool_errors():
            return structured(svc().get_action_item(action_id))

    @mcp.tool(annotations=READ)
    def list_action_items(
        incident_id: AnyIncidentId = "",
        owner: Line = "",
        status: ActStatus | None = None,
        priority: Prio | None = None,
        overdue: bool = False,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> CallToolResult:
        """List action items by incident, owner (matched ignoring case), status or priority; overdue=true keeps only
        open items past their due date. An empty list says why (empty_because); total counts every page's matches."""
        with tool_errors():
            return structured(
                svc().list_action_items(
                    incident_id=incident_id or None,
                    owner=owner or None,
                    status=status,
                    priority=priority,
                    overdue=overdue,
                    limit=limit,
                    offset=offset,
                )
            )

    @mcp.tool(annotations=READ)
    def action_item_stats(min_size: Annotated[int, Field(ge=2, le=100)] = 3) -> CallToolResult:
        """Completion of action items overall, per owner, per priority and per recurring pattern, with overdue
        counts. Use to see where follow-through is stalling."""
        return structured(svc().action_item_stats(min_size=min_size))


def _register_learning_tools(mcp: MCPServer, svc: Callable[[], "PostmortemService"]) -> None:
    @mcp.tool(annotations=READ)
    def fix_effectiveness(
        min_size: Annotated[int, Field(ge=2, le=100)] = 3, limit: Annotated[int, Field(ge=1, le=50)] = 20
    ) -> CallToolResult:
        """For each recurring pattern: did its action items stop it? Incidents before and after the last item was
        completed, rates per 30 days, and a verdict (holding, recurred after the fix, in progress, no items, or fix
        date unknown when an item was completed on a date not recorded)."""
        return structured(svc().fix_effectiveness(min_size=min_size, limit=limit))

    @mcp.tool()
    def review_analysis(
        incident_id: IncidentId,
        decision: Literal["accept", "reject"],
        by: Annotated[Line, Field(description="who reviewed it")] = "",
        note: Text = "",
        analysis_id: Annotated[int | None, Field(ge=1, description="the id of the analysis the user read")] = None,
    ) -> CallToolResult:
        """Record a person's review of an incident's latest analysis: accept it (only accepted analyses feed similar
        incidents, runbooks, reviews and later drafts) or reject it, with who and why. Call it only for a decision
        the user made after reading the analysis; never accept a draft on your own. Pass analysis_id so that a newer
        draft stored meanwhile is not the one decided."""
        with tool_errors():
            found = svc().review_analysis(incident_id, decision=decision, by=by, note=note, analysis_id=analysis_id)
            return structured(found)

    @mcp.tool(annotations=READ)
    def learn_from_incident(incident_id: IncidentId) -> CallToolResult:
        """For an incident with an accepted analysis: a regression eval case for the failing agent (input, context,
        expected behaviour, checks, how many runs) and the runbook entry of its pattern or category (symptoms,
        checks, mitigations, linked incidents). Also readable as evalcase:// and runbook:// resources."""
        with tool_errors():
            return structured(svc().learn(incident_id))

    @mcp.tool(annotations=READ)
    def verify_fix(
        before_failures: Count,
        before_trials: Count,
        after_failures: Count,
        after_trials: Count,
        target: Annotated[float, Field(gt=0, lt=1, description="failure rate the fix must stay below")] = 0.01,
        confidence: Annotated[float, Field(ge=0.5, lt=1)] = 0.95,
        deterministic: Annotated[bool, Field(description="true if the same input always failed")] = False,
    ) -> CallToolResult:
        """Decide whether a fix worked from failure counts before and after it: rates with intervals at the given
        confidence (95% by default), a Fisher exact test, a verdict, and how many more clean runs are needed. Use for
        failures that happen sometimes."""
        from agent_postmortem.analysis import verify as verification

        try:
            return structured(
                verification.verify_fix(
                    before_failures,
                    before_trials,
                    after_failures,
                    after_trials,
                    target,
                    confidence,
                    deterministic=deterministic,
                )
            )
        except ValueError as e:
            raise ToolError(f"{e}; pass counts with failures <= trials.") from None

    @mcp.tool(annotations=READ)
    def check_blameless(text: Annotated[str, Field(min_length=1, max_length=20_000), TEXT]) -> CallToolResult:
        """Flag blaming language (people as the cause, "human error", "should have", judgements) with spans and
        systemic rewrites (by the server's configured model when it has one, else by rules: rewritten_by). Use on a
        draft before publishing a post-mortem."""
        inner = unwrapped(text, "text")
        return structured(blameless_as_sent(svc().check_blameless(inner), text, inner))


def _register_loop_resources(mcp: MCPServer, svc: Callable[[], "PostmortemService"]) -> None:
    @mcp.resource("actions://open", mime_type="application/json", description="Unfinished action items")
    def open_actions() -> str:
        """Every unfinished item: the list has no place to say what a cap left out (it gave 500 of each status)."""
        service = svc()
        items = []
        for status in ("open", "in_progress"):
            offset: int | None = 0
            while offset is not None:
                page = service.list_action_items(status=status, limit=500, offset=offset)
                items += page.items
                offset = page.next_offset
        from agent_postmortem.render import exports

        return exports.to_json(items)

    @mcp.resource(
        "runbook://{key}",
        mime_type="text/markdown",
        description="The runbook entry of a category (e.g. runbook://rate_limit) or a recurring pattern (PAT-n)",
    )
    def runbook(key: str) -> str:
        from agent_postmortem.render.report import render_runbook

        try:
            return render_runbook(svc().runbook(key))
        except PostmortemError as e:
            raise ResourceNotFoundError(str(e)) from None

    @mcp.resource(
        "evalcase://{incident_id}", mime_type="application/json", description="An analysed incident's regression case"
    )
    def eval_case(incident_id: str) -> str:
        try:
            case = svc().regression_case(incident_id)
        except (IncidentNotFound, InvalidId, PostmortemError) as e:
            raise ResourceNotFoundError(no_incident(e)) from None
        return case.model_dump_json(indent=2)
