"""Fixtures shared by the service tests: a service on a clock the test moves."""

from pathlib import Path

import pytest

from agent_postmortem.service.facade import PostmortemService
from tests.factories import make_service
from tests.service.followup import Clock


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def svc(tmp_path: Path, clock: Clock) -> PostmortemService:
    return make_service(tmp_path, clock=clock)
