"""`postmortem draft` and `show` as a shell runs them: what a user is told when no model is configured, when the model
is too slow, and what a draft by the bundled model says about itself."""

import json
import os
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from agent_postmortem.cli.app import app
from agent_postmortem.llm.local import BUNDLED_MODEL_ID
from agent_postmortem.store.models import ActionItemCreate, ProposedAction
from tests.factories import FakeLLM, capture, draft, make_service
from tests.fake_openai import FakeOpenAI
from tests.processes import CLI, environment, postmortem

NO_KEY = {"POSTMORTEM_LLM": "auto", "OPENAI_API_KEY": ""}  # auto, with nothing configured


def test_draft_without_a_model_says_how_to_configure_one_and_exits_2(tmp_path: Path) -> None:
    incident_id = capture(make_service(tmp_path, llm=None))
    result = postmortem("draft", incident_id, home=tmp_path, env=NO_KEY)
    said = result.stderr.decode()
    assert result.returncode == 2 and result.stdout == b"", said
    assert said.startswith("error: no model is configured to draft") and said.count("\n") == 1, said
    assert (
        "OPENAI_BASE_URL, OPENAI_API_KEY and POSTMORTEM_MODEL in your environment" in said and "draft_analysis" in said
    )
    assert "Traceback" not in said and "SmolLM2" not in said


def test_draft_of_an_unknown_incident_says_it_does_not_exist_before_anything_about_the_model(tmp_path: Path) -> None:
    """`draft INC-999` with no model configured said how to configure a model: fixing that would only lead to "no
    incident". The id is checked first."""
    capture(make_service(tmp_path, llm=None))
    result = postmortem("draft", "INC-999", home=tmp_path, env=NO_KEY)
    said = result.stderr.decode()
    assert result.returncode == 2 and result.stdout == b"", said
    assert said.startswith("error: no incident 'INC-999'") and "postmortem list" in said, said
    assert "model" not in said and "Traceback" not in said


def test_a_draft_past_its_time_limit_exits_1_saying_what_timed_out_with_nothing_stored(
    tmp_path: Path, embedder: object
) -> None:
    service = make_service(tmp_path, llm=None)
    incident_id = capture(service)
    with FakeOpenAI() as endpoint:
        for _ in range(3):  # the first request and the client's retries: none answers in time
            endpoint.enqueue(draft().model_dump_json(), delay=8)
        env = {**NO_KEY, "OPENAI_BASE_URL": endpoint.base_url, "POSTMORTEM_MODEL": "slow-model"}
        started = time.monotonic()
        result = postmortem("draft", incident_id, home=tmp_path, env={**env, "POSTMORTEM_DRAFT_TIMEOUT": "1.5"})
        took = time.monotonic() - started
    said = result.stderr.decode()
    assert result.returncode == 1 and took < 20, (took, said)  # not the 24 s the endpoint would take
    assert f"slow-model (openai) did not finish the draft of {incident_id} within 1.5 s; nothing was stored" in said
    assert "POSTMORTEM_DRAFT_TIMEOUT" in said and "Traceback" not in said
    assert service.get_incident(incident_id).analysis is None


def test_an_endpoint_that_fails_or_cannot_be_reached_exits_1_not_2(tmp_path: Path, embedder: object) -> None:
    """An endpoint answering HTTP 500, or a closed port, ended `draft` with exit 2 ("fix the input"), though
    docs/drafting.md says 2 is no model configured and 1 the model failing: a script could not tell a retry from a
    setting to fix. A key the endpoint refuses is a setting to fix, and stays 2."""
    incident_id = capture(make_service(tmp_path, llm=None))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}/v1"
    with FakeOpenAI() as endpoint:
        for _ in range(3):  # the first request and the client's retries
            endpoint.enqueue(status=500)
        env = {**NO_KEY, "POSTMORTEM_LLM": "openai", "OPENAI_API_KEY": "k", "OPENAI_BASE_URL": endpoint.base_url}
        failing = postmortem("draft", incident_id, home=tmp_path, env=env)
        endpoint.enqueue(status=401)
        refused = postmortem("draft", incident_id, home=tmp_path, env=env)
    unreachable = postmortem("draft", incident_id, home=tmp_path, env={**env, "OPENAI_BASE_URL": closed})
    assert failing.returncode == 1 and failing.stderr.decode().startswith("error: the LLM endpoint answered HTTP 500")
    assert unreachable.returncode == 1 and "cannot reach the LLM endpoint" in unreachable.stderr.decode()
    assert refused.returncode == 2 and "rejected the API key" in refused.stderr.decode()
    assert b"Traceback" not in failing.stderr + unreachable.stderr + refused.stderr


def test_an_endpoint_that_answers_a_web_page_or_a_filtered_answer_is_one_clear_line_with_nothing_stored(
    tmp_path: Path, embedder: object
) -> None:
    """As found against an OpenAI-compatible URL behind a proxy: its sign-in page (HTML, 200) ended the draft with
    "unexpected AttributeError"; an answer stopped by a content filter was reported as invalid JSON."""
    service = make_service(tmp_path, llm=None)
    incident_id = capture(service)
    with FakeOpenAI() as endpoint:
        endpoint.enqueue(page="<html><body>Sign in to the proxy</body></html>")
        endpoint.enqueue("", finish_reason="content_filter")
        env = {**NO_KEY, "OPENAI_BASE_URL": endpoint.base_url, "POSTMORTEM_LLM": "openai", "OPENAI_API_KEY": "k"}
        page = postmortem("draft", incident_id, home=tmp_path, env=env).stderr.decode()
        filtered = postmortem("draft", incident_id, home=tmp_path, env=env).stderr.decode()
        asked = len(endpoint.requests)
    assert "did not answer with a chat completion" in page and "OPENAI_BASE_URL" in page, page
    assert "content filter stopped the model's answer" in filtered, filtered
    assert asked == 2 and "Traceback" not in page + filtered  # neither was sent again for a repair
    assert service.get_incident(incident_id).analysis is None


def test_a_model_that_answers_no_analysis_is_a_failure_of_the_system_exit_1_not_bad_input(tmp_path: Path) -> None:
    """With the bundled model, `draft` printed 'not a valid analysis after one repair round' and exited 2, the
    code for bad input or settings: a script could not tell a model's bad answer (retry, or a better model) from its
    own mistake."""
    incident_id = capture(make_service(tmp_path, llm=None))
    with FakeOpenAI() as endpoint:
        for _ in range(2):  # the draft and its one repair round
            endpoint.enqueue('{"whys": "none"}')
        env = {**NO_KEY, "OPENAI_BASE_URL": endpoint.base_url, "POSTMORTEM_LLM": "openai", "OPENAI_API_KEY": "k"}
        result = postmortem("draft", incident_id, home=tmp_path, env=env)
    said = result.stderr.decode()
    assert result.returncode == 1 and "not a valid analysis after one repair round" in said, said
    assert "AnalysisDraft" not in said and "nothing was stored. Try again, use a larger model" in said, said
    assert result.stdout == b"" and "Traceback" not in said


def test_show_says_an_analysis_by_the_bundled_model_is_low_quality(tmp_path: Path) -> None:
    llm = FakeLLM(draft())
    llm.backend, llm.model = "local", BUNDLED_MODEL_ID  # type: ignore[misc]
    service = make_service(tmp_path, llm=llm)
    incident_id = capture(service)
    service.draft_analysis(incident_id)
    shown = postmortem("show", incident_id, home=tmp_path)
    assert shown.returncode == 0, shown.stderr.decode()
    assert b"Analysis drafted by the bundled 135M model (SmolLM2), low quality: review before use." in shown.stdout


def test_draft_shows_its_stages_beside_a_spinner_on_a_terminal_and_nothing_in_a_pipe(
    tmp_path: Path, embedder: object
) -> None:
    service = make_service(tmp_path, llm=None)
    incident_id = capture(service)
    with FakeOpenAI() as endpoint:
        endpoint.enqueue(draft().model_dump_json(), delay=1.5)
        endpoint.enqueue(draft().model_dump_json())
        env = {**NO_KEY, "OPENAI_BASE_URL": endpoint.base_url, "POSTMORTEM_MODEL": "steady-model", "TERM": "xterm"}
        main, follower = os.openpty()  # stderr a terminal, stdout a pipe
        frames: list[bytes] = []
        reader = threading.Thread(target=_drain, args=(main, frames), daemon=True)  # a full terminal would block it
        reader.start()
        with subprocess.Popen(
            [CLI, "draft", incident_id], env=environment(tmp_path, env), stdout=subprocess.PIPE, stderr=follower
        ) as proc:
            os.close(follower)
            stdout, _ = proc.communicate(timeout=300)
        reader.join(30)
        shown = b"".join(frames).decode(errors="replace")
        piped = postmortem("draft", incident_id, home=tmp_path, env=env)
    assert proc.returncode == 0 and b"Root cause" in stdout, shown
    assert "drafting " + incident_id in shown and "asking steady-model (openai)" in shown, shown
    assert piped.returncode == 0 and piped.stderr == b""  # no spinner frames in a script's log


def _drain(fd: int, chunks: list[bytes]) -> None:
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # the terminal's other end closed
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(fd)


def test_list_with_nothing_to_show_says_so_instead_of_an_empty_table(tmp_path: Path) -> None:
    """`list` on a home with no incident of the status asked for (or none at all) printed a table with no rows."""
    home = tmp_path / "home"
    never = postmortem("list", home=home)
    assert never.returncode == 0 and never.stdout == b"" and b"nothing stored yet" in never.stderr
    capture(make_service(home, llm=None))
    none = postmortem("list", "--status", "resolved", home=home)
    assert none.returncode == 0 and none.stdout == b"" and none.stderr == b"no resolved incidents\n", none.stderr
    assert b"INC-1" in postmortem("list", home=home).stdout


def test_capture_says_when_it_stored_nothing_new_and_when_a_fix_did_not_hold(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, embedder: object
) -> None:
    """The view of a retried capture (same idempotency key) and of one more occurrence of an open incident read
    exactly like a new incident's, and a recurrence after its fix did not list the items that did not hold."""
    monkeypatch.setenv("POSTMORTEM_HOME", str(tmp_path))
    monkeypatch.setenv("POSTMORTEM_LLM", "none")

    def run(*args: str) -> str:
        result = CliRunner().invoke(app, list(args), catch_exceptions=False)
        assert result.exit_code == 0, result.stderr
        return " ".join(result.stdout.split())

    failure = ["capture", "--title", "Fares API returned 429", "--error-type", "RateLimitError"]
    first = run(*failure, "--idempotency-key", "run-7f3a")
    assert first.startswith("INC-1 category") and "nothing new" not in first and "occurrence" not in first
    assert run(*failure, "--idempotency-key", "run-7f3a").startswith(
        "INC-1: a retry with the same idempotency key: nothing new was stored"
    )
    assert run(*failure).startswith("INC-1: one more occurrence of this open incident (same failure signature), seen 2")
    run("actions", "--incident", "INC-1", "--add", "Add jittered backoff to fares calls")
    run("actions", "--item", "AI-1", "--set-status", "completed")
    again = run(*failure)
    assert "seen 3 times" in again
    assert "Recurred after its fix: these completed action items did not prevent it" in again
    assert "AI-1" in again.split("Recurred after its fix")[1]


def test_options_beside_capture_file_override_its_fields(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, embedder: object
) -> None:
    """`capture --file incident.json --title ... --agent ...` dropped the options without a word and stored the file
    alone (here counted as one more occurrence of the file's earlier capture)."""
    monkeypatch.setenv("POSTMORTEM_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("POSTMORTEM_LLM", "none")
    incident = tmp_path / "incident.json"
    fields = {"title": "Support bot invented a refund policy", "agent": "helpdesk", "error_type": "Hallucination"}
    incident.write_text(json.dumps({**fields, "description": "40 customers were told 90 days", "user_facing": True}))
    runner = CliRunner()
    first = json.loads(runner.invoke(app, ["capture", "--file", str(incident), "--json"]).stdout)["id"]
    given = ["--title", "Refund bot quoted a 90-day window", "--agent", "refunds", "--customer-reported", "--json"]
    second = runner.invoke(app, ["capture", "--file", str(incident), *given])
    assert second.exit_code == 0, second.stderr
    stored = json.loads(runner.invoke(app, ["show", json.loads(second.stdout)["id"], "--json"]).stdout)
    assert stored["id"] != first
    assert (stored["title"], stored["agent"], stored["error_type"]) == (given[1], "refunds", "Hallucination")
    assert stored["description"] == "40 customers were told 90 days"
    assert stored["user_facing"] and stored["customer_reported"]  # a flag not given keeps the file's value


def test_capture_file_that_is_empty_or_not_one_object_says_so(cli: Callable[..., Any], tmp_path: Path) -> None:
    """An empty file was "line 1: not JSON: Expecting value at column 1", and a JSON list "(record): Input should be
    a valid dictionary or instance of IncidentCreate" (a class name, and no word of what to give)."""
    cases = {
        "empty.json": ("", "empty.json is empty: give one JSON object"),
        "list.json": ('[{"title": "Fares API 429"}]', "list.json holds a JSON list: give one JSON object (`postm"),
        "text.json": ('"Fares API 429"', "text.json holds JSON that is not an object: give one JSON object"),
    }
    for name, (content, said) in cases.items():
        (tmp_path / name).write_text(content, encoding="utf-8")
        done = cli("capture", "--file", str(tmp_path / name))
        assert done.exit_code == 2 and done.stderr.startswith(f"error: {said}"), (name, done.stderr)
        assert "IncidentCreate" not in done.stderr


def test_a_damaged_gguf_is_one_clear_line_naming_the_file(tmp_path: Path) -> None:
    """A truncated download that starts like a GGUF got as far as llama.cpp, whose failure the CLI reported as
    "error: unexpected RuntimeError"."""
    pytest.importorskip("xllamacpp")
    incident_id = capture(make_service(tmp_path, llm=None))
    damaged = tmp_path / "qwen-truncated.gguf"
    damaged.write_bytes(b"GGUF\x03\x00\x00\x00" + b"\x00" * 64)
    result = postmortem("draft", incident_id, home=tmp_path, env={**NO_KEY, "POSTMORTEM_LOCAL_MODEL": str(damaged)})
    said = result.stderr.decode()
    assert result.returncode == 2 and said.startswith("error: llama.cpp could not load qwen-truncated.gguf"), said
    assert "whole GGUF model" in said and "Traceback" not in said and said.count("\n") == 1


def test_draft_track_says_which_items_it_tracked_and_which_an_open_item_already_has(tmp_path: Path) -> None:
    """`draft --track` printed the proposals and nothing else: the ids of the items it tracked were not said, and a
    proposal that repeats an open item was silently left untracked."""
    service = make_service(tmp_path, llm=None)
    incident_id = capture(service)
    (proposed,) = draft().action_items
    service.add_action_item(incident_id, ActionItemCreate(title=proposed.title, owner="platform", priority="P1"))
    service.knowledge.release_index()
    other = ProposedAction(
        title="Alert when one run sends more than 50 fares calls a minute",
        owner_role="agent-platform team",
        priority="P2",
        due_in_days=30,
        addresses="no jitter",
    )
    answer = draft().model_copy(update={"action_items": [proposed, other]})
    with FakeOpenAI() as endpoint:
        endpoint.enqueue(answer.model_dump_json())
        env = {**NO_KEY, "OPENAI_BASE_URL": endpoint.base_url, "POSTMORTEM_MODEL": "m"}
        result = postmortem("draft", incident_id, "--track", home=tmp_path, env=env)
    shown = " ".join(result.stdout.decode().split())
    assert result.returncode == 0, result.stderr.decode()
    assert f"tracked AI-2: {other.title}" in shown
    assert f"not tracked again: {proposed.title} (open AI-1 repeats it)" in shown


def test_patterns_with_none_to_show_say_so_instead_of_an_empty_table(tmp_path: Path) -> None:
    """`postmortem patterns` on a new knowledge base, or with a --min-size no group reaches, printed a table with no
    rows on stdout and nothing of why, exit 0."""
    fresh = postmortem("patterns", home=tmp_path / "new")
    assert fresh.returncode == 0 and fresh.stdout == b"", fresh.stdout
    assert "no recurring pattern yet: no 3 or more incidents are the same failure" in fresh.stderr.decode()
    capture(make_service(tmp_path / "kept", llm=None))
    capture(make_service(tmp_path / "kept", llm=None), title="Search API returned 429 to the agent")
    large = postmortem("patterns", "--min-size", "50", home=tmp_path / "kept")
    said = large.stderr.decode()
    assert large.returncode == 0 and large.stdout == b"" and "no 50 or more incidents are the same" in said
    assert "a smaller --min-size (2 at least) finds smaller groups" in said


@pytest.mark.parametrize(
    ("backend", "why"),
    [
        ("none", "POSTMORTEM_LLM=none turns off drafting by any model here: unset it (or set it to auto) and set"),
        ("sampling", "POSTMORTEM_LLM=sampling drafts only with an MCP client's own model, and a command has no client"),
    ],
)
def test_draft_with_the_model_turned_off_says_so_not_only_how_to_configure_one(
    tmp_path: Path, backend: str, why: str
) -> None:
    """With POSTMORTEM_LLM=none or sampling set, `draft` said "no model is configured: set OPENAI_BASE_URL ...", and a
    user who set them was told the same again: the setting that kept the model out was never named."""
    incident_id = capture(make_service(tmp_path, llm=None))
    env = {"POSTMORTEM_LLM": backend, "OPENAI_BASE_URL": "http://127.0.0.1:9/v1", "OPENAI_API_KEY": "sk-CANARY"}
    result = postmortem("draft", incident_id, home=tmp_path, env=env)
    said = result.stderr.decode()
    assert result.returncode == 2 and result.stdout == b"" and said.count("\n") == 1, said
    assert said.startswith(f"error: {why}") and "POSTMORTEM_LLM=local" in said, said
    assert "CANARY" not in said and "Traceback" not in said


def test_capture_file_takes_the_prompt_as_chat_messages_as_the_sdk_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, embedder: object
) -> None:
    """`capture --file` refused a `prompt_excerpt` given as the messages sent to the model ("Input should be a valid
    string"), which the SDK takes: the user's last message is stored, as the SDK stores it."""
    monkeypatch.setenv("POSTMORTEM_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("POSTMORTEM_LLM", "none")
    messages = [
        {"role": "system", "content": "You are the refunds assistant. " * 40},
        {"role": "user", "content": "Can I return shoes after 60 days?"},
        {"role": "assistant", "content": "Yes, within 90 days."},
    ]
    incident = tmp_path / "incident.json"
    incident.write_text(json.dumps({"title": "Refund bot invented a 90-day window", "prompt_excerpt": messages}))
    runner = CliRunner()
    result = runner.invoke(app, ["capture", "--file", str(incident), "--json"])
    assert result.exit_code == 0, result.stderr
    stored = json.loads(runner.invoke(app, ["show", json.loads(result.stdout)["id"], "--json"]).stdout)
    assert stored["prompt_excerpt"] == "Can I return shoes after 60 days?"


def test_import_takes_the_prompt_as_chat_messages_as_capture_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, embedder: object
) -> None:
    """`import` refused a line whose `prompt_excerpt` was the messages sent to the model ("Input should be a valid
    string"), which `capture --file` and the SDK take: the user's last message is stored, as they store it."""
    monkeypatch.setenv("POSTMORTEM_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("POSTMORTEM_LLM", "none")
    messages = [
        {"role": "system", "content": "You are the refunds assistant. " * 40},
        {"role": "user", "content": [{"type": "text", "text": "Can I return shoes after 60 days?"}]},
        {"role": "assistant", "content": "Yes, within 90 days."},
    ]
    incidents = tmp_path / "incidents.jsonl"
    incidents.write_text(json.dumps({"title": "Refund bot invented a 90-day window", "prompt_excerpt": messages}))
    runner = CliRunner()
    result = runner.invoke(app, ["import", str(incidents), "--json"])
    assert result.exit_code == 0, result.output
    [listed] = json.loads(runner.invoke(app, ["list", "--json"]).stdout)["incidents"]
    stored = json.loads(runner.invoke(app, ["show", listed["id"], "--json"]).stdout)
    assert stored["prompt_excerpt"] == "Can I return shoes after 60 days?"


def test_capture_takes_the_prompt_as_the_sdk_and_the_mcp_tool_do_redacted_like_the_rest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, embedder: object
) -> None:
    """`capture` had no --prompt: a failure captured from the shell had no input for `learn` to replay (its case was
    skipped with "the prompt ... was not captured"), though the SDK and the MCP tool take it. The prompt is stored
    as the capture's prompt excerpt (the case's input), redacted as every other field is, and a prompt past its
    bound is said of --prompt."""
    monkeypatch.setenv("POSTMORTEM_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("POSTMORTEM_LLM", "none")
    runner = CliRunner()
    prompt = "Refund order 8812 for dana.smith@example.com, it arrived broken"
    result = runner.invoke(
        app, ["capture", "Refund bot approved a refund above its limit", "--prompt", prompt, "--json"]
    )
    assert result.exit_code == 0, result.stderr
    stored = json.loads(runner.invoke(app, ["show", json.loads(result.stdout)["id"], "--json"]).stdout)
    assert stored["prompt_excerpt"] == "Refund order 8812 for [REDACTED:email], it arrived broken"
    assert "dana.smith" not in result.stdout
    long = runner.invoke(app, ["capture", "Refund bot failed", "--prompt", "x" * 2_001])
    assert long.exit_code == 2 and "--prompt: String should have at most 2000 characters" in long.stderr, long.stderr
