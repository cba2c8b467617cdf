"""The index on a Chroma server (`chroma run` on loopback): one owner at a time across replicas on one home, the
outbox drained by whoever owns it, rebuilds as collection generations, and searches that go on when the server is
unreachable."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from agent_postmortem.service.facade import PostmortemService
from agent_postmortem.store.index.chroma import close_client, collection_name, open_remote
from agent_postmortem.store.index.owner import IndexBusy
from agent_postmortem.store.index.remote import RemoteIndexOwner
from agent_postmortem.store.models import IncidentCreate
from agent_postmortem.store.search.embedding import HashEmbedder
from tests.factories import make_service, service_env

pytestmark = pytest.mark.slow


def generations(home: Path, chroma_url: str) -> dict[str, bool]:
    """name -> ready of this home's collections on the server."""
    client = open_remote(chroma_url, database=service_env(home, chroma_url)["POSTMORTEM_CHROMA_DATABASE"])
    try:
        return {c.name: bool((c.metadata or {}).get("ready")) for c in client.list_collections()}
    finally:
        close_client(client)


@pytest.fixture
def replicas(tmp_path: Path, chroma_server: str) -> Iterator[tuple[PostmortemService, PostmortemService]]:
    """Two replicas on one home (the first owns the index), as two `serve` processes would be."""
    first = make_service(tmp_path, chroma_url=chroma_server)
    second = make_service(tmp_path, chroma_url=chroma_server)
    yield first, second
    first.knowledge.release_index()
    second.knowledge.release_index()


def test_one_replica_owns_the_index_and_drains_every_replicas_outbox(
    replicas: tuple[PostmortemService, PostmortemService],
) -> None:
    first, second = replicas
    assert first.knowledge.owns_index and not second.knowledge.owns_index
    with pytest.raises(IndexBusy):
        second.knowledge.reindex()
    written = second.capture_incident(IncidentCreate(title="Refund agent paid the same order twice"))
    assert second.store.feed.pending_pks() == {1}
    assert second.search_incidents(query="paid the same order twice", limit=1).hits[0].id == written.id  # exact
    first.knowledge.sync()
    assert first.knowledge.index is not None and first.knowledge.index.ids() == {1}
    first.knowledge.release_index()
    assert second.knowledge.claim_index() and second.knowledge.claimed is not None
    assert second.knowledge.claimed.found == "ok"


def test_a_rebuild_switches_to_a_new_generation_and_drops_the_old(
    replicas: tuple[PostmortemService, PostmortemService], chroma_server: str, tmp_path: Path
) -> None:
    first, _ = replicas
    for n in range(3):
        first.capture_incident(IncidentCreate(title=f"Planner failure number {n} on flights.search"))
    prefix = collection_name(HashEmbedder().model_id) + "-g"
    assert generations(tmp_path, chroma_server) == {prefix + "000001": True}
    assert first.knowledge.reindex() == 3
    assert generations(tmp_path, chroma_server) == {prefix + "000002": True}
    first.knowledge.exact_limit = 0  # search through the index
    assert first.search_incidents(query="Planner failure number 1", limit=1, mode="dense").hits


def test_a_rebuild_killed_half_way_is_dropped_by_the_next_owner(
    replicas: tuple[PostmortemService, PostmortemService], chroma_server: str, tmp_path: Path
) -> None:
    first, second = replicas
    first.capture_incident(IncidentCreate(title="Summariser dropped the last page"))
    owner = first.knowledge.owner
    assert isinstance(owner, RemoteIndexOwner)
    client = owner.connect()
    half = client.create_collection(owner._prefix + "000007", embedding_function=None)  # never marked ready
    half.add(ids=["1"], embeddings=[[0.0] * HashEmbedder().dimension])
    close_client(client)
    first.knowledge.release_index()
    assert second.knowledge.claim_index() and second.knowledge.claimed is not None
    assert second.knowledge.claimed.found == "ok"
    assert list(generations(tmp_path, chroma_server).values()) == [True]


def test_searches_go_on_exactly_when_the_chroma_server_is_unreachable(tmp_path: Path) -> None:
    from agent_postmortem.evals.replicas import free_port

    service = make_service(tmp_path, chroma_url=f"http://127.0.0.1:{free_port()}")
    assert not service.knowledge.owns_index and not service.knowledge.owner.lock.held  # type: ignore[union-attr]
    written = service.capture_incident(IncidentCreate(title="Browser agent clicked the wrong button"))
    assert service.search_incidents(query="clicked the wrong button", limit=1).hits[0].id == written.id
