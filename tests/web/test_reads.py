"""What the pages read: a page of incidents reads its rows a chunk at a time, the same rows as read one by one."""

from pathlib import Path

import pytest

from agent_postmortem.service.facade import PostmortemService
from agent_postmortem.store.records.incidents import IncidentStore
from agent_postmortem.web import reads
from tests.statements import one_by_one, sent_by, whole_reads
from tests.web.site import seeded_service

pytestmark = pytest.mark.usefixtures("database")  # the store contract: SQLite and PostgreSQL


@pytest.fixture
def seeded(tmp_path: Path) -> PostmortemService:
    return seeded_service(tmp_path / "home")[0]


PAGES = [
    reads.Filters(),
    reads.Filters(page=2),
    reads.Filters(sort="severity", category="rate_limit"),
    reads.Filters(q="fares API answered 429"),
]


def test_a_page_of_incidents_reads_its_rows_together(
    seeded: PostmortemService, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each row was read by itself (four statements a row: 101 for the first page of the list, 105 for a search);
    the page now reads its rows in one chunk, and they are the same rows, in the same order, as read one by one."""
    pages = []
    for f in PAGES:
        with sent_by(seeded.store.engine) as sent:
            pages.append(reads.incident_page(seeded, f))
        assert pages[-1].rows and whole_reads(sent) == 1, (f, sent)
    assert len(pages[0].rows) == reads.PER_PAGE and pages[-1].rows[0].relevance is not None
    monkeypatch.setattr(IncidentStore, "get_many", one_by_one)
    assert [reads.incident_page(seeded, f) for f in PAGES] == pages
