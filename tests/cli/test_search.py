"""`postmortem search` and the similar incidents the CLI shows: dates, empty queries, narrow terminals, why nothing
was found, and a weak best match."""

import io
import json
from pathlib import Path

from agent_postmortem.ingest.jsonl import read_incidents
from agent_postmortem.store.search.embedding import Embedder
from tests.factories import SEED, capture, make_service
from tests.processes import postmortem


def test_a_search_with_since_after_until_is_refused_naming_both_dates(tmp_path: Path) -> None:
    """`search --since 2026-12-01 --until 2026-11-01` found nothing, exit 0: as if no incident matched."""
    capture(make_service(tmp_path, llm=None))
    result = postmortem("search", "timeout", "--since", "2026-12-01", "--until", "2026-11-01", home=tmp_path)
    said = result.stderr.decode()
    assert result.returncode == 2 and result.stdout == b"", said
    assert "since (2026-12-01T00:00:00+00:00) is after until (2026-11-01T23:59:59.999999+00:00)" in said, said
    assert said.count("\n") == 1 and "Traceback" not in said


def test_search_for_nothing_says_what_to_give_instead_of_ranking_every_incident(tmp_path: Path) -> None:
    """`postmortem search ''` (an unset shell variable) listed incidents ranked by relevance to nothing, exit 0."""
    capture(make_service(tmp_path, llm=None))
    for query in ("", "   "):
        result = postmortem("search", query, home=tmp_path)
        said = result.stderr.decode()
        assert result.returncode == 2 and result.stdout == b"", said
        assert said.startswith("error: give a query") and said.count("\n") == 1, said


def test_similar_incidents_at_80_columns_are_blocks_not_a_table_wrapped_a_word_a_line(tmp_path: Path) -> None:
    """At 80 columns (a default terminal, and `make demo`'s pipe) the eight-column table of similar incidents wrapped
    each title and root cause a word or two to a line; it is one block per incident there, a table when wide."""
    title = "Travel agent kept retrying flight search until the fares API throttled every user"
    capture(make_service(tmp_path, llm=None), title=title + "\x1b[2J")
    narrow = postmortem("search", "fares API throttled", home=tmp_path, env={"COLUMNS": "80"})
    shown = narrow.stdout.decode()
    assert narrow.returncode == 0 and "┃" not in shown and " 1. INC-1  relevance " in shown, shown
    assert "    Travel agent kept retrying flight search until the fares API throttled every\n    user" in shown
    assert "\x1b" not in shown
    assert all(len(row) <= 80 and row == row.rstrip() for row in shown.splitlines()), shown
    wide = postmortem("search", "fares API throttled", home=tmp_path, env={"COLUMNS": "160"})
    assert wide.returncode == 0 and "┃ # ┃ id" in wide.stdout.decode(), wide.stdout.decode()


def test_a_search_that_finds_nothing_says_why_on_stderr(tmp_path: Path) -> None:
    """`postmortem search timeout --agent nobody` printed an empty table, exit 0, and nothing of why."""
    capture(make_service(tmp_path, llm=None))
    result = postmortem("search", "timeout", "--agent", "nobody", home=tmp_path)
    said = result.stderr.decode()
    assert result.returncode == 0 and "no incident has the agent 'nobody'" in said, said
    as_json = postmortem("search", "timeout", "--agent", "nobody", "--json", home=tmp_path)
    assert json.loads(as_json.stdout)["hits"] == [] and as_json.stderr == b""


def test_a_search_whose_best_hit_is_weak_says_so_under_the_hits(tmp_path: Path, embedder: Embedder) -> None:
    """`postmortem search` of a question with nothing like it in the knowledge base printed its hits at cosine 0.05
    as plainly as real matches; a line under them now says the match is weak."""
    make_service(tmp_path, embedder=embedder).import_incidents(read_incidents(SEED))
    weak = postmortem("search", "how do I bake sourdough bread at home", "--limit", "2", home=tmp_path)
    real = postmortem("search", "the order agent overwrote customers' delivery addresses", home=tmp_path)
    said = weak.stderr.decode()
    assert weak.returncode == 0 and weak.stdout.decode().count("INC-") == 2, said
    assert said.startswith("weak match: nothing in the knowledge base matches well; the best hit, INC-"), said
    assert said.count("\n") == 1 and "below 0.38" in said
    assert real.returncode == 0 and "weak match" not in real.stderr.decode() + real.stdout.decode()


def test_a_search_with_no_hits_prints_no_heading_on_stdout(tmp_path: Path) -> None:
    """On a new home, or with filters nothing matches, `postmortem search` printed the heading of the similar incidents
    ("Similar past incidents, ranked by relevance ...") on stdout over no hits: a script read it as a result."""
    fresh = postmortem("search", "rate limited by the fares provider", home=tmp_path / "new")
    assert fresh.returncode == 0 and fresh.stdout == b"", fresh.stdout
    assert "no incidents" in fresh.stderr.decode() and fresh.stderr.decode().count("\n") == 1  # said once, not twice
    items = postmortem("actions", home=tmp_path / "new")
    assert items.returncode == 0 and items.stdout == b"" and items.stderr.decode().count("\n") == 1, items.stderr
    capture(make_service(tmp_path / "kept", llm=None))
    filtered = postmortem("search", "timeout", "--agent", "nobody", home=tmp_path / "kept")
    assert filtered.returncode == 0 and filtered.stdout == b"" and b"nobody" in filtered.stderr


def test_a_search_naming_a_stored_incident_gives_its_id_in_the_json(tmp_path: Path) -> None:
    """`search --json` of "what happened in INC-1?" said which incident the question names only in a sentence, which
    a script had to parse for `INC-n`: the ids are a list, and the sentence is still on stderr without --json."""
    service = make_service(tmp_path, llm=None)
    first = capture(service)
    capture(service, title="Refund agent promised a refund the policy forbids")
    as_json = postmortem("search", f"what happened in {first.lower()} and INC-404?", "--json", home=tmp_path)
    found = json.loads(as_json.stdout)
    assert as_json.returncode == 0 and found["named_ids"] == [first], as_json.stderr
    assert found["named"].startswith(f"the query names {first}: to read it")
    plain = postmortem("search", f"what happened in {first}?", home=tmp_path)
    assert f"the query names {first}: to read it, get it by its id (`postmortem show {first}`)" in plain.stderr.decode()
    assert "get_incident" not in plain.stderr.decode()  # a command to run, not a tool's name


def test_a_relevance_below_zero_is_explained_over_the_similar_incidents() -> None:
    """`postmortem classify` listed "relevance -0.66  cosine 0.79" with nothing saying the relevance is standardised
    against the other candidates, so a negative one read as an error; both views now say how to read it."""
    from rich.console import Console

    from agent_postmortem.cli.view import SimilarView
    from tests.render.samples import known

    hits = [known("INC-4", 0.86).model_copy(update={"relevance": 1.6}), known("INC-3", 0.79)]
    hits[1].relevance = -0.66
    for width in (80, 160):
        console = Console(width=width, record=True, file=io.StringIO())
        console.print(SimilarView(hits))
        shown = " ".join(console.export_text().split())
        assert "-0.66" in shown and "0 is their average, below 0 a weaker match" in shown, shown
