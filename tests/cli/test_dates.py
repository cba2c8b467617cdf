"""Dates on the `postmortem` command line, as a real subprocess: ISO 8601 days, months and years bounding a search,
an action item due today; and the search table's root cause cut at a word."""

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.processes import postmortem

pytestmark = pytest.mark.slow


def test_a_root_cause_too_long_for_the_search_table_is_cut_at_a_word_and_marked(tmp_path: Path) -> None:
    """It was cut at 90 characters in the middle of a word with no mark ("email.send had no pa"), so a reader took
    the stub for the whole root cause."""
    from agent_postmortem.cli.demo import SEED

    home = tmp_path / "home"
    assert postmortem("import", str(SEED), home=home).returncode == 0
    shown = postmortem("search", "rate limited by the email provider", home=home, env={"COLUMNS": "400"})
    cells = re.findall(r"^│ \d+ +│ INC-\d+ .*│ (.+?) +│$", shown.stdout.decode(), flags=re.MULTILINE)
    assert len(cells) == 5, shown.stdout.decode()
    assert all(cell.endswith((".", "…")) for cell in cells), cells
    assert any(cell.endswith("…") and not cell.endswith(" …") for cell in cells), cells


def test_an_item_due_today_is_not_overdue_until_the_day_ends(tmp_path: Path) -> None:
    home = tmp_path / "home"
    captured = postmortem("capture", "--title", "Agent timed out calling the CRM", "--json", home=home)
    incident_id = json.loads(captured.stdout)["id"]
    today = datetime.now(UTC).date().isoformat()
    added = postmortem(
        "actions", "--incident", incident_id, "--add", "Set a deadline", "--due", today, "--json", home=home
    )
    item = json.loads(added.stdout)
    assert (item["overdue"], item["due_at"]) == (False, f"{today}T23:59:59Z")
    assert json.loads(postmortem("actions", "--overdue", "--json", home=home).stdout)["items"] == []
    timed = postmortem("actions", "--item", item["id"], "--due", f"{today}T00:00:00+00:00", "--json", home=home)
    assert json.loads(timed.stdout)["overdue"] is True  # a time given is kept as given


def test_dates_are_iso_8601_and_a_day_given_as_the_end_of_a_range_includes_it(tmp_path: Path) -> None:
    home = tmp_path / "home"
    captured = postmortem("capture", "--title", "Agent timed out calling the CRM", "--json", home=home)
    incident_id = json.loads(captured.stdout)["id"]
    today = datetime.now(UTC).date()

    def hits(*dates: str) -> list[str]:
        done = postmortem("search", "CRM timed out", *dates, "--json", home=home)
        assert done.returncode == 0, done.stderr
        return [h["id"] for h in json.loads(done.stdout)["hits"]]

    assert hits("--until", today.isoformat()) == [incident_id]  # was midnight: today's incidents were left out
    assert hits("--since", "29990101") == []  # ISO 8601's basic form, not Unix seconds (August 1970)
    assert hits("--until", today.strftime("%Y%m%d")) == [incident_id]
    number = postmortem("search", "CRM timed out", "--since", "1765000000", home=home)
    assert number.returncode == 2 and b"not a number" in number.stderr and b"1765000000" not in number.stderr
    added = postmortem(
        "actions", "--incident", incident_id, "--add", "Set a deadline", "--due", "20261215", "--json", home=home
    )
    assert json.loads(added.stdout)["due_at"] == "2026-12-15T23:59:59Z"


def test_search_bounds_by_a_month_or_a_year_take_the_whole_of_it(tmp_path: Path) -> None:
    """`search --until 2026-12` was refused ("input is too short"): a month or a year bounds the whole period."""
    home = tmp_path / "home"
    captured = postmortem("capture", "--title", "Agent timed out calling the CRM", "--json", home=home)
    incident_id = json.loads(captured.stdout)["id"]
    today = datetime.now(UTC).date()
    month_before = (today.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")

    def hits(*bounds: str) -> list[str]:
        done = postmortem("search", "CRM timed out", *bounds, "--json", home=home)
        assert done.returncode == 0, done.stderr
        return [h["id"] for h in json.loads(done.stdout)["hits"]]

    assert hits("--until", f"{today:%Y-%m}") == [incident_id] == hits("--since", f"{today:%Y-%m}")
    assert hits("--since", f"{today:%Y}", "--until", f"{today:%Y}") == [incident_id]
    assert hits("--until", month_before) == [] == hits("--since", str(today.year + 1))
    junk = postmortem("search", "CRM timed out", "--until", "2026-13", home=home)
    said = junk.stderr.decode()
    assert junk.returncode == 2 and said.count("\n") == 1 and "Traceback" not in said
    assert "until: no such month: a month is 01 to 12" in said
