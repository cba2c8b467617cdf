"""No prompt leaves for the server's own model with a secret in it, whatever built the prompt: driven as a user
runs the commands whose prompts are built from text that was never stored (and so never redacted at capture)."""

import json
from pathlib import Path

from tests.fake_openai import FakeOpenAI
from tests.processes import postmortem

SECRETS = (
    "sk-proj-4fQm2X9vLk8sT7rB1nY6cW3zH5jD0pA2eR8uI4oK",
    "jane.doe@example.com",
    "hunter2Secret",
    "ghp_16C7e42F292c6912E7710c838347Ae178B4a",
)


def _sent(endpoint: FakeOpenAI) -> str:
    return json.dumps(endpoint.requests)


def _env(endpoint: FakeOpenAI) -> dict[str, str]:
    return {"POSTMORTEM_LLM": "openai", "OPENAI_BASE_URL": endpoint.base_url, "OPENAI_API_KEY": "k"}


def test_check_blameless_sends_the_model_the_sentence_redacted(tmp_path: Path) -> None:
    """The text given to check-blameless went to the model as written, secrets and all, for its rewrites."""
    text = f"The on-call engineer forgot to rotate {SECRETS[0]} and mailed {SECRETS[1]} the password=hunter2Secret."
    with FakeOpenAI() as endpoint:
        endpoint.enqueue(json.dumps({"rewrite": "No step required rotating the key before it was shared."}))
        result = postmortem("check-blameless", text, home=tmp_path, env=_env(endpoint))
        sent = _sent(endpoint)
    assert result.returncode == 1, result.stderr.decode()  # it flags the blame
    assert endpoint.requests and "[REDACTED:openai_key]" in sent, sent
    assert not [s for s in SECRETS[:3] if s in sent], sent


def test_import_steps_attributed_by_the_model_sends_it_the_steps_redacted(tmp_path: Path) -> None:
    """`import-steps --attribute llm` asks the model about a run before the run is captured (and redacted)."""
    run = {
        "id": "run-9",
        "task": f"Book a flight for {SECRETS[1]}",
        "steps": [
            {"step": 0, "agent": "Planner", "content": f"Call the fares API with key {SECRETS[0]}"},
            {"step": 1, "agent": "WebSurfer", "content": f"Signed in with password={SECRETS[2]}, got HTTP 500"},
            {"step": 2, "agent": "Coder", "content": f"Pushed with {SECRETS[3]} and gave up"},
        ],
    }
    runs = tmp_path / "runs.jsonl"
    runs.write_text(json.dumps(run) + "\n")
    with FakeOpenAI() as endpoint:
        endpoint.enqueue(json.dumps({"responsible": "WebSurfer", "decisive_step": 1, "reason": "the sign-in failed"}))
        result = postmortem(
            "import-steps",
            str(runs),
            "--attribute",
            "llm",
            "--dry-run",
            home=tmp_path / "h",
            env={**_env(endpoint), "POSTMORTEM_JUDGE_TIMEOUT": "0"},
        )
        sent = _sent(endpoint)
    assert result.returncode == 0, result.stderr.decode()
    assert endpoint.requests and "[REDACTED:" in sent, sent
    assert not [s for s in SECRETS if s in sent], sent
