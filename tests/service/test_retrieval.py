"""Search through the service with the real embedding model: a query sent with an incident id is refused rather than
half answered."""

from pathlib import Path

import pytest

from agent_postmortem.errors import QueryAndIncident
from agent_postmortem.ingest.jsonl import read_incidents
from agent_postmortem.service.facade import PostmortemService
from agent_postmortem.store.search.embedding import Embedder
from tests.factories import SEED, make_service


@pytest.fixture
def seeded(tmp_path: Path, embedder: Embedder) -> PostmortemService:
    service = make_service(tmp_path / "home", embedder=embedder)
    service.import_incidents(read_incidents(SEED))
    return service


def test_a_query_and_another_incident_are_refused_and_an_id_given_twice_is_one_search(
    seeded: PostmortemService,
) -> None:
    with pytest.raises(QueryAndIncident, match="not both"):
        seeded.search_incidents(query="refund promised", incident_id="INC-1")
    with pytest.raises(QueryAndIncident):
        seeded.search_incidents(query="INC-2", incident_id="INC-1")
    same = seeded.search_incidents(query="#1", incident_id="INC-1", limit=2)
    assert [h.id for h in same.hits] == [h.id for h in seeded.search_incidents(incident_id="INC-1", limit=2).hits]
