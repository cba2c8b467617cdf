"""A team server for the SDK's tests to send to, and each test starting with no reason said once already
(server/sdk/not_stored.py), as a new process does."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from agent_postmortem.sdk.not_stored import forget_said
from agent_postmortem.service.facade import PostmortemService
from agent_postmortem.store.search.embedding import Embedder
from tests.factories import make_service
from tests.http_server import serving


@pytest.fixture(autouse=True)
def _nothing_said_yet() -> Iterator[None]:
    forget_said()
    yield
    forget_said()


@pytest.fixture
def team(tmp_path: Path, embedder: Embedder) -> PostmortemService:
    return make_service(tmp_path / "team", embedder=embedder)


@pytest.fixture
def url(team: PostmortemService) -> Iterator[str]:
    with serving(team) as base:
        yield f"{base}/mcp"
