"""`postmortem capture`, `import`, `list` and `patterns` as a shell runs them: a capture that stored nothing new, a
capture file that is no object or whose fields options override, the prompt as chat messages or --prompt, and empty
lists said in words."""

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from agent_postmortem.cli.app import app
from tests.factories import capture, make_service
from tests.processes import postmortem


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
