"""Fixtures the store's tests share."""

from collections.abc import Iterator

import pytest

from agent_postmortem.evals import postgres
from tests.factories import HomeDatabases


@pytest.fixture
def pg(postgres_server: postgres.Databases) -> Iterator[HomeDatabases]:
    """Homes whose records are each in a PostgreSQL database of their own (tests/factories.py), closed afterwards."""
    homes = HomeDatabases(postgres_server)
    yield homes
    homes.close()
