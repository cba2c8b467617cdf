"""A timeline as people read it: a failure that repeats adds one "Occurred again" note per repeat (the SDK's Recorder
captures every failure of an agent in a retry loop), and 1,500 of them made a report of 151 KB and `postmortem show`
of 268 KB, the rest of the timeline lost among them. The earlier repeats are folded into one line that says how many
and over which span; the latest are shown as they are. The store keeps every note (the MCP record folds them the same
way, server/mcp/views.py)."""

from agent_postmortem.analysis.wording import counted
from agent_postmortem.store.models import TimelineEvent

OCCURRED_AGAIN = "Occurred again: "  # the note's prefix, here for capture (server/service/capture.py) to write it
KEPT_REPEATS = 3


def is_repeat(event: TimelineEvent) -> bool:
    return event.kind == "note" and event.description.startswith(OCCURRED_AGAIN)


def folded(timeline: list[TimelineEvent]) -> list[TimelineEvent]:
    """`timeline` with all but the latest KEPT_REPEATS repeat notes replaced by one note where the first of them was."""
    repeats = [n for n, e in enumerate(timeline) if is_repeat(e)]
    if len(repeats) <= KEPT_REPEATS + 1:  # folding one note into a line about it saves nothing
        return timeline
    left_out = repeats[:-KEPT_REPEATS]
    first, last = timeline[left_out[0]], timeline[left_out[-1]]
    summary = TimelineEvent(
        at=first.at,
        kind="note",
        description=(
            f"Occurred again {len(left_out)} times from {first.at:%Y-%m-%d %H:%M} to {last.at:%Y-%m-%d %H:%M} UTC "
            f"(each time noted on the incident; the latest {KEPT_REPEATS} follow)"
        ),
    )
    skipped = set(left_out)
    return [summary if n == left_out[0] else e for n, e in enumerate(timeline) if n == left_out[0] or n not in skipped]


def bounded(timeline: list[TimelineEvent], keep: int = 30) -> list[TimelineEvent]:
    """What a prompt carries of `timeline`: the first event, the latest KEPT_REPEATS repeat notes and the latest `keep`
    other events, with one note counting what is left out. A failure captured 300 times put 299 "Occurred again"
    lines (35 KB) into the draft prompt, and 1,500 repeats more than a small model's context."""
    repeats = [n for n, e in enumerate(timeline) if is_repeat(e)]
    left = set(repeats[:-KEPT_REPEATS]) if len(repeats) > KEPT_REPEATS + 1 else set()
    others = [n for n in range(1, len(timeline)) if n not in left and not is_repeat(timeline[n])]
    older = others[:-keep] if len(others) > keep + 1 else []
    if not left and not older:
        return timeline
    said = [counted(len(left), 'earlier "Occurred again" note')] if left else []
    said += [counted(len(older), "earlier event")] if older else []
    note = TimelineEvent(
        at=timeline[min(left | set(older))].at,
        kind="note",
        description=f"{' and '.join(said)} left out here; the latest follow",
    )
    kept = [e for n, e in enumerate(timeline) if n not in left and n not in older]
    return [kept[0], note, *kept[1:]]
