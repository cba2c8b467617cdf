"""The Chroma clients: a remote one is opened only on a URL it can use, which is never repeated."""

import pytest

from agent_postmortem.store.index.chroma import open_remote


@pytest.mark.parametrize("url", ["http://agent:CANARY@chroma:8000", "http://CANARY@chroma:8000", "CANARY:8000"])
def test_a_chroma_url_with_a_password_is_refused_without_repeating_it(url: str) -> None:
    """The Chroma client takes a host and a port: the URL's password was dropped unsaid, and a malformed URL was
    repeated whole in the error."""
    with pytest.raises(ValueError) as refused:
        open_remote(url, database="postmortem")
    assert "CANARY" not in str(refused.value) and "without a user name or password" in str(refused.value)
