"""The SDK sending to a team server: the Recorder calls the server's capture_incident tool over real HTTP with
the real MCP client and its token; a wrong token, URL or address is one clear line, never raised to the agent (the
retries and a server that is down or answers junk: test_remote_retries.py)."""

import json
from pathlib import Path

import pytest

from agent_postmortem.sdk.recorder import Recorder
from agent_postmortem.sdk.remote import RemoteService
from agent_postmortem.service.facade import PostmortemService
from tests.http_server import TOKEN
from tests.processes import run_agent_script, run_crashing_agent


def test_the_recorder_sends_failures_to_the_team_server_with_its_token(
    team: PostmortemService, url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POSTMORTEM_URL", url)
    monkeypatch.setenv("POSTMORTEM_TOKEN", TOKEN)
    recorder = Recorder(agent="trip-planner", model="gpt-4.1-mini")  # configured by the environment alone

    @recorder.watch(tool="flights.search", prompt="Find me a flight to Lisbon")
    def search(query: str) -> None:
        raise TimeoutError("flights.search read timed out after 30 s")

    with pytest.raises(TimeoutError):
        search("LIS")
    assert recorder.url == url and recorder.flush(timeout=60)
    [incident_id] = recorder.captured_ids
    stored = team.get_incident(incident_id)
    assert (stored.agent, stored.tool, stored.model, stored.category) == (
        "trip-planner",
        "flights.search",
        "gpt-4.1-mini",
        "timeout",
    )
    assert stored.prompt_excerpt == "Find me a flight to Lisbon" and "in search" in (stored.stack_trace or "")
    hits = team.search_incidents(query="flight search timed out", limit=1).hits
    assert hits[0].id == incident_id


def test_json_text_in_the_context_reaches_the_team_server_as_text(team: PostmortemService, url: str) -> None:
    recorder = Recorder(agent="billing-bot", url=url, token=TOKEN)
    arguments = json.dumps({"order": "A-1001", "amount": 12.5})  # as docs/sdk.md shows
    recorder.capture(
        RuntimeError('{"error":{"code":429}}'), tool="payments.refund", tool_args=arguments, impact='["eu","us"]'
    )
    assert recorder.flush(timeout=60) and recorder.failed == 0
    stored = team.get_incident(recorder.captured_ids[0])
    assert (stored.tool_args, stored.error_message, stored.impact) == (
        arguments,
        '{"error":{"code":429}}',
        '["eu","us"]',
    )


def test_a_watched_exception_that_ends_the_process_reaches_the_team_server(
    team: PostmortemService, url: str, tmp_path: Path
) -> None:
    done = run_crashing_agent(tmp_path, POSTMORTEM_URL=url, POSTMORTEM_TOKEN=TOKEN)
    assert done.returncode == 1 and "RuntimeError: payments.refund returned 502" in done.stderr
    [listed] = team.list_incidents().incidents
    stored = team.get_incident(listed.id)
    assert (stored.agent, stored.tool) == ("refund-bot", "payments.refund")


def test_a_wrong_token_is_one_clear_log_line_not_retried_and_never_raised(
    team: PostmortemService, url: str, caplog: pytest.LogCaptureFixture
) -> None:
    wrong = "wrong-token-" + "x" * 30
    sleeps: list[float] = []
    recorder = Recorder(service=lambda: RemoteService(url, token=wrong, sleep=sleeps.append))
    recorder.capture(RuntimeError("boom"), tool="crm.update")
    assert recorder.flush(timeout=60)
    assert recorder.failed == 1 and recorder.captured_ids == [] and sleeps == []
    [line] = [r.getMessage() for r in caplog.records if r.name == "agent_postmortem.sdk.recorder"]
    assert "refused the token (HTTP 401)" in line and "POSTMORTEM_TOKEN" in line and wrong not in caplog.text
    # a team server's tokens come from `token add`: the line named only POSTMORTEM_HTTP_TOKEN, which it has not
    assert "revoked" in line and "postmortem token add --team" in line, line
    assert team.knowledge_stats().incidents == 0


def test_a_token_read_from_a_file_with_its_line_break_is_sent_without_it(
    team: PostmortemService, url: str, tmp_path: Path
) -> None:
    """`token=open("token").read()` keeps the file's line break: the header could not be sent, each capture was
    retried for 7.5 s as "unreachable", and the line logged quoted the whole header, token included."""
    (tmp_path / "token").write_text(TOKEN + "\n", encoding="utf-8")
    recorder = Recorder(agent="billing-bot", url=url, token=(tmp_path / "token").read_text(encoding="utf-8"))
    recorder.capture(RuntimeError("ledger write refused"), tool="ledger.write")
    assert recorder.flush(timeout=60) and recorder.failed == 0 and len(recorder.captured_ids) == 1


@pytest.mark.parametrize("token", ["pm_first\npm_second" + "x" * 30, "pm_café" + "x" * 30, "pm_a b" + "x" * 30])
def test_a_token_no_header_can_carry_is_one_line_that_never_quotes_it(
    team: PostmortemService, url: str, caplog: pytest.LogCaptureFixture, token: str
) -> None:
    sleeps: list[float] = []
    recorder = Recorder(service=lambda: RemoteService(url, token=token, sleep=sleeps.append))
    recorder.capture(RuntimeError("boom"), tool="crm.update")
    assert recorder.flush(timeout=60)
    assert recorder.failed == 1 and sleeps == []
    [line] = [r.getMessage() for r in caplog.records if r.name == "agent_postmortem.sdk.recorder"]
    assert "no HTTP header can carry" in line and "POSTMORTEM_TOKEN" in line, line
    assert "xxxxxxxx" not in caplog.text


def test_no_token_for_a_server_that_asks_for_one_is_said_so(
    team: PostmortemService, url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """It said the token "is wrong or was revoked" when none had been given."""
    recorder = Recorder(service=lambda: RemoteService(url, token=None, sleep=lambda _: None))
    recorder.capture(RuntimeError("boom"), tool="crm.update")
    assert recorder.flush(timeout=60) and recorder.failed == 1
    [line] = [r.getMessage() for r in caplog.records if r.name == "agent_postmortem.sdk.recorder"]
    assert "asks for a token (HTTP 401) and none was given" in line and "POSTMORTEM_TOKEN" in line, line


@pytest.mark.parametrize(
    ("where", "said"),
    [
        ("http://127.1:{port}/mcp", "refused the host name (HTTP 421)"),  # 127.0.0.1, by a name it does not serve
        ("http://127.0.0.1:{port}/", "answered HTTP 405"),  # the web view
        ("http://127.0.0.1:{port}/v1/traces", "answered HTTP 400"),  # the trace receiver
        ("http://127.0.0.1:{port}/mcpx", "answered HTTP 404"),
    ],
    ids=["host", "web-view", "traces", "no-such-path"],
)
def test_a_url_that_is_not_the_servers_mcp_endpoint_is_one_line_saying_so_not_retried(
    team: PostmortemService, url: str, caplog: pytest.LogCaptureFixture, where: str, said: str
) -> None:
    """A Host name the server does not serve (421) or a URL that is not its MCP endpoint was retried for 7.5 s and
    then called "unreachable after 4 attempts (MCPError: Server returned an error response)"."""
    sleeps: list[float] = []
    target = where.format(port=url.rsplit(":", 1)[1].split("/")[0])
    recorder = Recorder(service=lambda: RemoteService(target, token=TOKEN, sleep=sleeps.append))
    recorder.capture(RuntimeError("boom"), tool="crm.update")
    assert recorder.flush(timeout=60)
    assert recorder.failed == 1 and sleeps == []
    [line] = [r.getMessage() for r in caplog.records if r.name == "agent_postmortem.sdk.recorder"]
    assert said in line and "unreachable" not in line and TOKEN not in caplog.text, line
    assert ("POSTMORTEM_ALLOWED_HOSTS" if "421" in said else "http://pm.internal:8000/mcp") in line, line
    assert team.knowledge_stats().incidents == 0


@pytest.mark.parametrize("given", ["team-pm:8000/mcp", "localhost:8000", "ftp://team-pm/mcp", "https:///mcp"])
def test_a_url_the_client_could_never_send_to_is_refused_at_once(tmp_path: Path, given: str) -> None:
    """As found: an SDK script given a URL without its scheme retried for 8 s before it said so."""
    source = (
        "import time\nfrom agent_postmortem import Recorder\nstart = time.monotonic()\n"
        "try:\n    Recorder(agent='a')\nexcept ValueError as e:\n    print(f'{time.monotonic() - start:.2f}', e)\n"
    )
    done = run_agent_script(tmp_path, source, timeout=60, POSTMORTEM_URL=given, POSTMORTEM_HOME=str(tmp_path))
    seconds, message = done.stdout.split(" ", 1)
    assert float(seconds) < 1 and "must start with http:// or https://" in message and given not in message
    assert "Traceback" not in done.stderr


def test_a_blank_or_padded_url_and_token_read_as_the_cli_reads_them(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """`POSTMORTEM_URL=" "` raised "must start with http://" into the agent, where the CLI reads a blank setting as
    unset; a URL or token pasted with its line break is used without it."""
    monkeypatch.setenv("POSTMORTEM_HOME", str(tmp_path))
    monkeypatch.setenv("POSTMORTEM_URL", " ")
    monkeypatch.setenv("POSTMORTEM_TOKEN", "\n")
    assert Recorder(agent="a").url is None  # the local store, as with no URL at all
    monkeypatch.setenv("POSTMORTEM_URL", " http://team-pm:8000/mcp\n")
    assert Recorder(agent="a").url == "http://team-pm:8000/mcp"
