"""The index's lock is an flock per open file: a second service on one home in the same process is refused as
another process would be, and is told that the owner is in its own process."""

from pathlib import Path
from typing import Any

import pytest

from agent_postmortem.store.index.owner import IndexBusy
from agent_postmortem.store.models import IncidentCreate
from tests.factories import make_service


def test_a_second_service_in_the_same_process_is_told_where_the_owner_is(tmp_path: Path, embedder: Any) -> None:
    first = make_service(tmp_path / "home", embedder=embedder)
    first.capture_incident(IncidentCreate(title="Fares API returned 429 Too Many Requests"))
    assert first.reindex() == 1
    second = make_service(tmp_path / "home", embedder=embedder)
    with pytest.raises(IndexBusy, match="another service in this process") as raised:
        second.reindex()
    assert "another process" not in str(raised.value)
    del first
