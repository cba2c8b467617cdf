"""`postmortem effectiveness` with no recurring pattern to measure."""

from pathlib import Path

from tests.processes import postmortem


def test_effectiveness_with_nothing_to_measure_says_so_instead_of_a_zero_summary(tmp_path: Path) -> None:
    """On a new home `effectiveness` printed "holding 0 · recurred after fix 0 · in progress 0 · no items 0" on stdout,
    as though fixes had been measured; it now says, as `patterns` does, that there is nothing to measure and how a
    pattern comes to be measured, on stderr, exit 0."""
    fresh = postmortem("effectiveness", home=tmp_path / "new")
    said = " ".join(fresh.stderr.decode().split())
    assert fresh.returncode == 0 and fresh.stdout == b"", fresh.stdout
    assert "nothing to measure yet: no recurring pattern (3 or more incidents that are the same failure)" in said
    assert "postmortem actions --incident INC-n --add TITLE" in said and "--set-status completed" in said
    assert "holding 0" not in said
    assert not (tmp_path / "new").exists()
