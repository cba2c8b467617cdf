"""`postmortem check`: a damaged vector index is found from a child process (this one never opens it), moved
aside and rebuilt from the records; a healthy home is reported healthy."""

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from agent_postmortem.cli.app import app
from agent_postmortem.config import Settings
from agent_postmortem.service.health import check
from agent_postmortem.store.index.health import probe
from agent_postmortem.store.models import IncidentCreate
from agent_postmortem.store.search.embedding import HashEmbedder
from tests.factories import HomeDatabases, keeping_records_in, make_service
from tests.processes import postmortem

pytestmark = pytest.mark.slow


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr("agent_postmortem.service.runtime.make_embedder", lambda settings: HashEmbedder())
    service = make_service(tmp_path)
    for n in range(5):
        service.capture_incident(IncidentCreate(title=f"Planner failure number {n} on flights.search"))
    service.knowledge.release_index()  # let go of the directory as a stopped server would
    return tmp_path


def settings(home: Path) -> Settings:
    return Settings.from_env({"POSTMORTEM_HOME": str(home), "POSTMORTEM_LLM": "none"})


def test_a_healthy_home_is_reported_healthy(home: Path) -> None:
    found = probe(home / "chroma", HashEmbedder().model_id)
    assert found is not None and found.ids == {1, 2, 3, 4, 5} and found.readable and found.sampled == 5
    report = check(settings(home))
    assert report.healthy and (report.records, report.embedded, report.indexed) == (5, 5, 5)


def test_a_damaged_index_is_detected_then_moved_aside_and_rebuilt(home: Path) -> None:
    database = home / "chroma" / "chroma.sqlite3"
    database.write_bytes(b"this is not a database" * 1000)
    assert probe(home / "chroma", HashEmbedder().model_id) is None
    found = check(settings(home))
    assert not found.healthy and found.index == "broken" and found.records == 5
    repaired = check(settings(home), repair=True)
    assert repaired.healthy and repaired.repaired and repaired.indexed == 5
    assert repaired.quarantined is not None and Path(repaired.quarantined).is_dir()
    assert check(settings(home)).healthy


def test_check_exits_1_on_a_broken_index_and_0_after_repair(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (home / "chroma" / "chroma.sqlite3").write_bytes(b"\x00garbage" * 500)
    monkeypatch.setenv("POSTMORTEM_HOME", str(home))
    runner = CliRunner()
    broken = runner.invoke(app, ["check", "--json"])
    assert broken.exit_code == 1 and json.loads(broken.stdout)["index"] == "broken"
    fixed = runner.invoke(app, ["check", "--repair", "--json"])
    assert fixed.exit_code == 0 and json.loads(fixed.stdout)["repaired"] is True


@pytest.fixture
def index_home(home: Path, chroma_url: str | None) -> tuple[Path, str | None]:
    """A home with 5 incidents, its index embedded or on a Chroma server (the claim contract holds for both)."""
    if chroma_url is not None:  # the same incidents, indexed on the server
        make_service(home, chroma_url=chroma_url).knowledge.release_index()
    return home, chroma_url


def claimed(home: Path, chroma_url: str | None = None) -> tuple[str, bool, set[int], set[int]]:
    """Open the home as a starting server does; what it found, whether it rebuilt, index ids, record ids."""
    service = make_service(home, chroma_url=chroma_url)
    knowledge = service.knowledge
    assert knowledge.claimed is not None and knowledge.index is not None
    result = (knowledge.claimed.found, knowledge.claimed.rebuilt, knowledge.index.ids(), set())
    result[3].update(service.store.feed.embedded_pks(model=HashEmbedder().model_id))
    knowledge.release_index()
    return result


def test_a_server_start_rebuilds_a_broken_index_from_the_records(home: Path) -> None:
    (home / "chroma" / "chroma.sqlite3").write_bytes(b"\x00garbage" * 500)
    found, rebuilt, ids, records = claimed(home)
    assert (found, rebuilt) == ("broken", True) and ids == records == {1, 2, 3, 4, 5}
    assert len(list(home.glob("chroma.broken-*"))) == 1  # kept as evidence
    assert claimed(home)[:2] == ("ok", False)


def test_a_server_start_rebuilds_an_index_that_lost_vectors(index_home: tuple[Path, str | None]) -> None:
    home, chroma_url = index_home
    service = make_service(home, chroma_url=chroma_url)
    assert service.knowledge.index is not None
    # acknowledged by the outbox, yet gone (chromadb #6975: silent loss below sync_threshold)
    service.knowledge.index.delete([2, 4])
    service.knowledge.release_index()
    found, rebuilt, ids, records = claimed(home, chroma_url)
    assert (found, rebuilt) == ("mismatch", True) and ids == records == {1, 2, 3, 4, 5}
    assert not list(home.glob("chroma.broken-*"))  # readable, only stale: replaced, not kept
    assert claimed(home, chroma_url)[:2] == ("ok", False)


def test_an_index_only_behind_the_outbox_is_caught_up_not_rebuilt(index_home: tuple[Path, str | None]) -> None:
    home, chroma_url = index_home
    writer = make_service(home, chroma_url=chroma_url)  # owns the index now ...
    writer.knowledge.release_index()  # ... and lets go: the next capture only reaches the outbox
    writer.capture_incident(IncidentCreate(title="Refund agent paid the same order twice"))
    assert writer.store.feed.pending_pks() == {6}
    found, rebuilt, ids, records = claimed(home, chroma_url)
    assert (found, rebuilt) == ("behind", False) and ids == records == {1, 2, 3, 4, 5, 6}


def test_a_seeded_home_no_server_has_opened_is_healthy_and_says_how_its_index_gets_built(tmp_path: Path) -> None:
    """`postmortem init --seed` then `postmortem check` said "NOT healthy" (exit 1, index "mismatch", no advice):
    a CLI process does not own the index, so a new home's records wait in the outbox until a server builds it."""
    assert postmortem("init", "--seed", home=tmp_path).returncode == 0
    result = postmortem("check", "--json", home=tmp_path)
    report = json.loads(result.stdout)
    assert result.returncode == 0, result.stdout
    assert (report["index"], report["records"], report["pending_outbox"]) == ("unbuilt", 45, 45)
    assert "postmortem reindex" in report["advice"]
    assert postmortem("reindex", home=tmp_path).returncode == 0
    assert json.loads(postmortem("check", "--json", home=tmp_path).stdout)["index"] == "ok"


@pytest.mark.postgresql
def test_a_new_home_on_a_shared_database_is_healthy_and_says_how_its_index_gets_built(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, postgres_server: Any
) -> None:
    """`postmortem check` from a second machine (a home of its own on the team's PostgreSQL, whose records a server
    elsewhere had indexed) said "NOT healthy" (exit 1, index "mismatch", no advice): nothing was wrong, that home
    had simply not built an index of its own yet, which a server started on it does when it takes the index."""
    monkeypatch.setattr("agent_postmortem.service.runtime.make_embedder", lambda settings: HashEmbedder())
    with keeping_records_in(HomeDatabases(postgres_server)) as databases:
        server = make_service(tmp_path / "server")
        for n in range(3):
            server.capture_incident(IncidentCreate(title=f"Planner failure number {n} on flights.search"))
        server.knowledge.sync()  # the outbox applied to the index in the server's home, as its keeper does
        assert server.knowledge.owns_index and not server.store.feed.pending_pks()
        server.knowledge.release_index()
        elsewhere = {"POSTMORTEM_HOME": str(tmp_path / "admin"), "POSTMORTEM_LLM": "none"}
        report = check(Settings.from_env({**elsewhere, **databases.settings(tmp_path / "server")}))
        assert report.healthy and (report.index, report.records, report.pending_outbox) == ("unbuilt", 3, 0)
        assert report.advice is not None and "a server started on this home builds it" in report.advice
