"""Why regression cases will be skipped, grouped by what they lack, for `learn` (when it writes them) and `regress`
(when none ran): incidents recorded without their prompt (the seed's, a capture without --prompt) give cases with
nothing to replay, and a user told only "fill in what each todo says" had to open every file to find that all lacked
the same thing and how to give it."""

from collections.abc import Sequence

from agent_postmortem.analysis.regression import RegressionCase
from agent_postmortem.analysis.regression_verdict import skip_reasons

SHOWN_IDS = 3  # case ids named per group; the rest counted

# What a reason lacks (its group's words), and what to do about it; {where} is where the case files are.
_GROUPS: dict[str, tuple[str, str]] = {
    "input": (
        "with no input",
        "the failure's prompt was not recorded with its incident; write the prompt that reproduces the failure into "
        '"input" of {where}, or record the prompt with the incident (`postmortem capture --prompt`, `prompt=` in the '
        "SDK, `prompt_excerpt` in an import or the MCP tool) and learn again",
    ),
    "redacted": (
        "with a redacted input or tool arguments",
        "put test credentials or data of the same kind in place of the [REDACTED:...] placeholders in {where}",
    ),
    "within_seconds": ("with no time budget", 'set the seconds of the "within_seconds" check in {where}'),
    "other": ("with another todo", "do what its todo says in {where}"),
}


def _group(reason: str) -> str:
    if "not captured" in reason or "no input to replay" in reason:
        return "input"
    if "redact" in reason:
        return "redacted"
    return "within_seconds" if reason.startswith("within_seconds:") else "other"


def _natural(case_id: str) -> tuple[str, int]:
    """regress-INC-2 before regress-INC-10."""
    head, _, number = case_id.rpartition("-")
    return (head, int(number)) if number.isdigit() else (case_id, 0)


def skipped_cases(cases: Sequence[RegressionCase]) -> list[RegressionCase]:
    return [case for case in cases if skip_reasons(case)]


def skip_summary(cases: Sequence[RegressionCase], where: str) -> list[str]:
    """One line per thing the skipped among `cases` lack: how many, the first case ids, and what to do, then that
    each todo is to be emptied; no lines when every case can run."""
    grouped: dict[str, list[str]] = {}
    for case in cases:
        for group in dict.fromkeys(_group(reason) for reason in skip_reasons(case)):
            grouped.setdefault(group, []).append(case.id)
    lines = []
    for group, (lacking, todo) in _GROUPS.items():
        ids = sorted(grouped.get(group, []), key=_natural)
        if ids:
            named = ", ".join(ids[:SHOWN_IDS]) + (f" and {len(ids) - SHOWN_IDS} more" if len(ids) > SHOWN_IDS else "")
            lines.append(f"  {len(ids)} {lacking} ({named}): {todo.format(where=where)}")
    if lines:
        lines.append('  then empty each case\'s "todo": regress skips a case while it has one')
    return lines
