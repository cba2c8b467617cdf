"""What the recorder says of a capture not stored: a reason every capture fails on is said once per process."""

import logging

import pytest

from agent_postmortem.sdk.recorder import Recorder
from agent_postmortem.sdk.remote import RemoteService
from agent_postmortem.service.facade import PostmortemService


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
