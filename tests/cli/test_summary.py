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
