"""What the recorder says of a capture not stored: a reason every capture fails on is said once per process."""

import logging

import pytest

from agent_postmortem.sdk.recorder import Recorder
from agent_postmortem.sdk.remote import RemoteService
from agent_postmortem.service.facade import PostmortemService
from tests.http_server import TOKEN


def test_a_revoked_token_is_said_once_per_process_and_every_refused_capture_is_counted(
    team: PostmortemService, url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A revoked token made every capture print the same warning: an agent failing in a loop filled its log with it."""
    revoked = "revoked-token-" + "x" * 30
    first, second = (Recorder(service=lambda: RemoteService(url, token=revoked, sleep=lambda _: None)) for _ in "12")
    for recorder in (first, second, first):
        recorder.capture(RuntimeError("boom"), tool="crm.update")
        assert recorder.flush(timeout=60)
    assert (first.failed, second.failed) == (2, 1)
    said = [r for r in caplog.records if r.name == "agent_postmortem.sdk.recorder" and r.levelno >= logging.WARNING]
    [line] = [r.getMessage() for r in said]
    assert "refused the token (HTTP 401)" in line and "said once" in line and revoked not in caplog.text


@pytest.mark.parametrize(
    ("path", "said"),
    [("mcpx", "answered HTTP 404"), ("", "answered HTTP 405"), ("v1/traces", "answered HTTP 400")],
    ids=["no-such-path", "web-view", "traces"],
)
def test_a_url_that_is_not_the_mcp_endpoint_is_said_once_per_process(
    team: PostmortemService, url: str, caplog: pytest.LogCaptureFixture, path: str, said: str
) -> None:
    """As found with POSTMORTEM_URL=http://host:port/nope and the docs' script: each of its five captures printed the
    same 'answered HTTP 404' line, where a refused token, as much a setting every capture fails on, is said once."""
    wrong = url.removesuffix("mcp") + path
    recorder = Recorder(service=lambda: RemoteService(wrong, token=TOKEN, sleep=lambda _: None))
    for _ in range(3):
        recorder.capture(RuntimeError("boom"), tool="crm.update")
        assert recorder.flush(timeout=60)
    assert recorder.failed == 3
    said_lines = [r for r in caplog.records if r.name == "agent_postmortem.sdk.recorder" and r.levelno >= 30]
    [line] = [r.getMessage() for r in said_lines]
    assert said in line and "said once" in line, line
