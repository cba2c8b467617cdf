"""Nothing raw at rest: secrets captured through the service, a writer killed mid-write and the stdio server never
reach the database, its WAL, the index or the logs unredacted."""

import logging
from pathlib import Path

import pytest

from agent_postmortem.store.models import ActionItemCreate, IncidentCreate, SeedIncident, TimelineEventCreate
from tests.factories import ROOT, draft, make_service
from tests.store.redact_samples import HEX40, INVISIBLE, ISSUE_MISSES

CANARIES = {
    "openai": "sk-proj-CANARYa1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6",
    "github": "ghp_CANARY0123456789abcdefghijABCDEFGHIJ",
    "password": "CanaryPassw0rd!!",
    "email": "canary.person@example.org",
    "card": "4111 1111 1111 1111",
}


def test_nothing_raw_at_rest_in_the_database_wal_index_or_logs(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    home = tmp_path / "home"
    service = make_service(home)
    c = CANARIES
    captured = service.capture_incident(
        IncidentCreate(
            title=f"Agent leaked {c['email']} in a reply",
            description=f"Tool call failed: Authorization: Bearer {c['openai']}",
            error_message=f"git push https://bot:{c['password']}@git.example.com failed",
            tool_args=f'{{"card": "{c["card"]}", "token": "{c["github"]}"}}',
            prompt_excerpt=f"my password is password={c['password']}",
        )
    )
    assert captured.redacted and sum(captured.redacted.values()) >= 5
    service.add_timeline_event(captured.id, TimelineEventCreate(description=f"rotated {c['github']}"))
    service.add_action_item(captured.id, ActionItemCreate(title=f"Revoke {c['openai']} now", owner=c["email"]))
    service.record_analysis(
        captured.id,
        draft().model_copy(update={"root_cause": f"The tool call let {c['github']} reach the prompt unchecked."}),
        generated_by="assistant",
    )
    service.import_incidents([SeedIncident(title="Imported with a secret", description=f"token {c['github']}")])
    stored = service.get_incident(captured.id)
    assert not any(v in stored.model_dump_json() for v in c.values())
    files = [p for p in home.rglob("*") if p.is_file()]
    assert any(p.name.endswith("-wal") for p in files) or any(p.suffix == ".db" for p in files)
    for path in files:
        data = path.read_bytes()
        for name, value in c.items():
            assert value.encode() not in data, (name, path)
    assert not any(v in caplog.text for v in c.values())


CHILD = """
import sys
from agent_postmortem.store.search.embedding import HashEmbedder
from agent_postmortem.config import Settings
from agent_postmortem.service.runtime import build_service
from agent_postmortem.store.models import IncidentCreate
service = build_service(Settings.from_env({"POSTMORTEM_HOME": sys.argv[1], "POSTMORTEM_LLM": "none"}),
                        embedder=HashEmbedder())
print("ready", flush=True)
n = 0
while True:
    n += 1
    service.capture_incident(IncidentCreate(title=f"Run {n} leaked a key", error_message=sys.argv[2] + f" #{n}"))
"""


@pytest.mark.slow
def test_nothing_raw_at_rest_even_when_the_writer_is_killed_mid_write(tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    canary = "ghp_KILLCANARY0123456789abcdefghijABCDEF"
    home = tmp_path / "home"
    for round_ in range(3):
        with subprocess.Popen(
            [sys.executable, "-c", CHILD, str(home), f"auth failed for {canary}"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=ROOT,
            env={**os.environ, "HF_HUB_OFFLINE": "1"},
        ) as child:
            assert child.stdout is not None and child.stdout.readline().strip() == b"ready"
            time.sleep(0.3 + 0.4 * round_)  # mid-way through some capture
            child.send_signal(signal.SIGKILL)
            _, err = child.communicate()
        assert canary.encode() not in err
    written = [p for p in home.rglob("*") if p.is_file()]
    assert any(b"[REDACTED:github_token]" in p.read_bytes() for p in written)  # captures did land
    for path in written:
        assert canary.encode() not in path.read_bytes(), path


@pytest.mark.slow
@pytest.mark.anyio
async def test_every_miss_planted_through_the_stdio_server_is_gone_from_what_it_stored(tmp_path: Path) -> None:
    import os

    from mcp import Client, StdioServerParameters

    from tests.processes import CLI, server_env

    planted = "\n".join(text for _, text, _ in ISSUE_MISSES)
    hidden = "".join(f"x{c}" for c in INVISIBLE.values())
    arguments = {
        "title": "令牌ghp_" + "a1B2c3D4e5" * 3 + "f6G7h8已失效 " + hidden,
        "description": planted,
        "stack_trace": planted,
        "tool_args": 'http.post {"api_key": "sk-proj-Ab3dEf6hIj9l\\u200bMn2pQr5tUv8xYz1", "password": "Geheim123!"}',
        "prompt_excerpt": "the password is Tr0ub4dor&3; 密码=Mima8888!; call +14155552671",
        "error_message": f"Authorization: Token {HEX40}",
    }
    env = {**server_env(tmp_path), "PYTHONPATH": os.environ.get("PYTHONPATH", "")}  # this checkout's code
    async with Client(StdioServerParameters(command=CLI, args=["serve"], env=env)) as client:
        captured = await client.call_tool("capture_incident", arguments)
        assert not captured.is_error, captured.content[0].text  # type: ignore[union-attr]
        incident_id = captured.structured_content["id"]  # type: ignore[index]
        stored = await client.call_tool("get_incident", {"incident_id": incident_id})
    text = str(stored.structured_content).replace("\\\\u200b", "")
    for what, _, secret in ISSUE_MISSES:
        assert secret not in text, (what, text[max(0, text.find(secret) - 300) : text.find(secret) + 60])
    assert not any(c in text for c in INVISIBLE.values()) and "[REDACTED:" in text
    for path in (p for p in tmp_path.rglob("*") if p.is_file()):
        data = path.read_bytes()
        for what, _, secret in ISSUE_MISSES:
            assert len(secret) < 10 or secret.encode() not in data, (what, path)
