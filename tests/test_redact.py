"""Redaction before storage: every type is caught in realistic text, look-alikes survive, it is idempotent, and
nothing raw reaches the database, its WAL, the index or the logs."""

import logging
import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evals.redaction import cases, look_alikes
from evals.redaction_corpus import BENIGN, BENIGN_CARRIERS, KINDS
from store.models import ActionItemCreate, IncidentCreate, SeedIncident, TimelineEventCreate
from store.redact import redact, redact_model, redact_text
from tests.conftest import make_service
from tests.test_tools import draft

RNG = random.Random(7)
SAMPLES = [(name, kind.make(RNG)) for name, kind in KINDS.items()]


@pytest.mark.parametrize(("kind", "value"), SAMPLES, ids=[k for k, _ in SAMPLES])
def test_each_kind_is_replaced_by_a_typed_placeholder_in_its_carriers(kind: str, value: str) -> None:
    for carrier in KINDS[kind].carriers:
        text = carrier.format(v=value)
        redacted, counts = redact_text(text)
        assert not any(part in redacted for part in KINDS[kind].parts(value)), (kind, redacted)
        assert "[REDACTED:" in redacted and sum(counts.values()) >= 1


def test_look_alikes_are_left_alone() -> None:
    rng = random.Random(3)
    for make in BENIGN.values():
        for carrier in BENIGN_CARRIERS:
            for _ in range(8):
                text = carrier.format(v=make(rng))
                assert redact(text) == text


def test_the_corpus_is_as_large_and_varied_as_promised() -> None:
    secrets, benign = cases(), look_alikes()
    assert len(secrets) >= 2_000 and len({k for _, k, _, _ in secrets}) >= 45 and len(benign) >= 2_000


@settings(max_examples=150, deadline=None, derandomize=True)
@given(
    st.text(max_size=300),
    st.sampled_from([v for _, v in SAMPLES]),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=50),
)
def test_redaction_is_idempotent_and_removes_the_secret_wherever_it_sits(before: str, secret: str, after: str) -> None:
    text = f"{before} api_key={secret} {after}"  # unprefixed secrets (an AWS secret key) need a keyword
    once = redact(text)
    assert redact(once) == once
    assert secret not in once


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
        draft().model_copy(update={"root_cause": f"The system let {c['github']} reach the prompt unchecked."}),
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


def test_redacting_a_record_keeps_its_shape() -> None:
    capture = IncidentCreate(title="Leak of ghp_" + "a" * 36, error_message="fine")
    redacted, counts = redact_model(capture)
    assert redacted.title == "Leak of [REDACTED:github_token]" and counts["github_token"] == 1
    assert redact_model(redacted)[0] == redacted and redact_model(capture.model_copy(update={"title": "ok!"}))[1] == {}


def test_invisible_characters_are_dropped_and_counted_before_storage(tmp_path: Path) -> None:
    service = make_service(tmp_path)
    hidden = "Refund\u200b policy\u202e bug\U000e0049\U000e0047"
    captured = service.capture_incident(IncidentCreate(title=f"Agent quoted a {hidden}"))
    assert captured.redacted == {"invisible_characters": 4}
    stored = service.get_incident(captured.id)
    assert stored.title == "Agent quoted a Refund policy bug" and stored.redactions == {"invisible_characters": 4}
    assert "\u200b" not in service.render_report(captured.id)


def test_a_placeholder_longer_than_the_secret_never_breaks_a_length_limit() -> None:
    event = TimelineEventCreate(description="x" * 1990 + " 8.8.8.8")  # 2,000 characters with a 7-character IP
    redacted, counts = redact_model(event)
    assert counts["ip_address"] == 1 and len(redacted.description) == 2000 and "8.8.8.8" not in redacted.description


CHILD = """
import sys
from store.embedding import HashEmbedder
from server.config import Settings
from server.runtime import build_service
from store.models import IncidentCreate
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
            cwd=Path(__file__).resolve().parent.parent,
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
