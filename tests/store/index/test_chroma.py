"""The Chroma clients: a remote one is opened only on a URL it can use, which is never repeated; a persistent one has
let go of its files when it is closed."""

from pathlib import Path

import pytest

from agent_postmortem.store.index.chroma import close_client, open_persistent, open_remote
from tests.descriptors import open_under, still_open


@pytest.mark.parametrize("url", ["http://agent:CANARY@chroma:8000", "http://CANARY@chroma:8000", "CANARY:8000"])
def test_a_chroma_url_with_a_password_is_refused_without_repeating_it(url: str) -> None:
    """The Chroma client takes a host and a port: the URL's password was dropped unsaid, and a malformed URL was
    repeated whole in the error."""
    with pytest.raises(ValueError) as refused:
        open_remote(url, database="postmortem")
    assert "CANARY" not in str(refused.value) and "without a user name or password" in str(refused.value)


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="reads this process's descriptors from /proc")
def test_a_closed_persistent_client_lets_go_of_its_files(tmp_path: Path) -> None:
    """Each client opened and closed on a directory lets go of every file in it (a service closed and opened again
    for its home kept one more open each time, until the process ran out of descriptors)."""
    for round_ in range(5):
        client = open_persistent(str(tmp_path / "chroma"))
        collection = client.get_or_create_collection("incidents", embedding_function=None)
        collection.upsert(ids=[str(round_)], embeddings=[[0.1, 0.2]])
        assert open_under(tmp_path)
        close_client(client)
        assert still_open(tmp_path) == [], round_
