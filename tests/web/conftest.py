"""The web tests' shared fixtures: one seeded site served per test module, an HTTP client of it per test, and one
browser per module."""

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from agent_postmortem.service.facade import PostmortemService
from tests.http_server import serving
from tests.web.browser import chromium
from tests.web.site import seeded_service


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as found:
        yield found


@pytest.fixture(scope="module")
def site(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, PostmortemService, str]]:
    """(base URL, service, the drafted incident's id) of a seeded home served on loopback for this module's tests."""
    service, drafted = seeded_service(tmp_path_factory.mktemp(request.module.__name__.rsplit(".", 1)[-1]) / "home")
    with serving(service) as base:
        yield base, service, drafted


@pytest.fixture
def client(site: tuple[str, PostmortemService, str]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=site[0], timeout=60) as c:
        yield c
