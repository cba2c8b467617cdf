"""`stats_view`: what the vector index holds, said as what a user can do now."""

import pytest
from rich.console import Console

from agent_postmortem.cli.summary import stats_view
from agent_postmortem.service.results import Stats


def shown(indexed: int | None, pending: int) -> str:
    stats = Stats(
        incidents=445,
        by_category={},
        by_severity={},
        by_status={},
        action_items={},
        indexed=indexed,
        index_pending=pending,
        index_owner=indexed is not None,
    )
    console = Console(width=160, record=True, color_system=None)
    console.print(stats_view(stats))
    return " ".join(console.export_text().split())


@pytest.mark.parametrize("pending", [445, 0])
def test_a_command_says_every_incident_is_searchable_and_who_keeps_the_index(pending: int) -> None:
    """After `import`, stats read "indexed -, waiting to be indexed 445", though search found all 445."""
    said = shown(None, pending)
    assert "searchable all 445 (search reads the stored vectors)" in said
    assert "vector index kept by a running server (`postmortem serve`)" in said and "indexed -" not in said
    to_add = "; 445 incidents to add when one starts, or `postmortem reindex`"
    assert (to_add in said) == bool(pending) and ("up to date" in said) == (not pending), said


def test_the_process_that_keeps_the_index_says_its_counts() -> None:
    said = shown(440, 5)
    assert "indexed 440" in said and "waiting to be indexed 5" in said and "searchable" not in said


def test_a_finding_in_a_document_is_placed_by_its_line_not_its_character_offsets() -> None:
    """`check-blameless postmortem.md` gave each finding as character offsets ("1108-1119"), which no editor goes to;
    in a text of several lines it now says the line. Words given alone keep the offsets."""
    from agent_postmortem.analysis.blameless import BlamelessReport, Finding
    from agent_postmortem.cli.summary import blameless_view

    document = "# Logs not shipped\n\n## Contributing factors\n\n- Human error in not knowing the account\n"
    start = document.index("Human error")
    report = BlamelessReport(
        blameless=False,
        findings=[Finding(start=start, end=start + 11, text="Human error", rule="human_error", suggestion="a gap")],
    )
    console = Console(width=80, color_system=None, record=True)
    console.print(blameless_view(report, document))
    shown = console.export_text()
    assert "line 5" in shown and f"{start}-" not in shown, shown
    console.print(blameless_view(report, "Human error in not knowing the account."))
    assert f"{start}-{start + 11}" in console.export_text()
