"""Redaction before storage: every type is caught in realistic text, look-alikes survive, it is idempotent, and
nothing raw reaches the database, its WAL, the index or the logs."""

import logging
import random
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from agent_postmortem.evals.redaction import cases, look_alikes
from agent_postmortem.evals.redaction_corpus import BENIGN, BENIGN_CARRIERS, KINDS
from agent_postmortem.store.models import ActionItemCreate, IncidentCreate, SeedIncident, TimelineEventCreate
from agent_postmortem.store.redact import redact, redact_model, redact_text, redact_value
from tests.factories import ROOT, draft, make_service

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


HEX40 = "0123456789abcdef0123456789abcdef01234567"
PGP = (
    "-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nlQdGBGV0c3QBEADcOmU2ZXhhbXBsZWtleWJvZHlsaW5lb25lMTIzNDU2Nzg5\n"
    "Zm9vYmFyYmF6cXV4c2VjcmV0a2V5bWF0ZXJpYWx0aGF0bXVzdG5vdGxlYWsx\n=J8kq\n-----END PGP PRIVATE KEY BLOCK-----"
)
ISSUE_MISSES = [  # (what the issue named, the text it was planted in, what must not be left)
    ("slack app token", "socket mode: xapp-1-A0123456789-1234567890123-" + HEX40 + " rejected", HEX40),
    ("stripe webhook secret", "endpoint secret whsec_Ab12Cd34Ef56Gh78Ij90Kl12Mn34Op56 rejected", "Ab12Cd34Ef56Gh78"),
    ("pgp private key body", f"gpg import failed:\n{PGP}\ndone", "ZXhhbXBsZWtleWJvZHlsaW5l"),
    ("pgp private key body", f"gpg import failed:\n{PGP}\ndone", "Zm9vYmFyYmF6cXV4c2Vj"),
    ("phone, E.164 compact", "callback number +14155552671 given", "4155552671"),
    ("phone, French national", "rappeler le client au 06 12 34 56 78 demain", "12 34 56 78"),
    ("phone, French international", "Tél. +33 6 12 34 56 78", "12 34 56 78"),
    ("phone, German national", "Rückruf unter 030 12345678 bitte", "12345678"),
    ("phone, German international", "Telefon +49 30 12345678", "12345678"),
    ("card right after another number", "order 48213 4111 1111 1111 1111 declined", "4111 1111 1111"),
    ("card right after another number", "ticket 7 5500000000000004 declined", "5500000000000004"),
    ("token glued to CJK text", "令牌ghp_" + "a1B2c3D4e5" * 3 + "f6G7h8已失效", "a1B2c3D4e5"),
    ("key interleaved with U+FE0F", "key sk-proj-" + "\ufe0f".join("Ab3dEf6hIj9lMn2pQr5tUv8x") + " rejected", "Ab3d"),
    ("JSON-escaped password pair", '{\\"db\\": \\"x\\", \\"password\\": \\"hunter2-Secret\\"}', "hunter2-Secret"),
    (
        "escaped zero width in tool arguments",
        '{"q": "with sk-proj-Ab3dEf6hIj9lMn2pQr5t\\u200bUv8xYz1AbCdEf"}',
        "Uv8xYz1AbCd",
    ),
    ("Passwort:", "Passwort: Geheim123!", "Geheim123!"),
    ("contraseña=", "contraseña=Secreta99#", "Secreta99#"),
    ("mot de passe :", "mot de passe : Soleil2024$", "Soleil2024$"),
    ("密码=", "密码=Mima8888!", "Mima8888!"),
    (
        "truncated Azure AccountKey",
        "conn: AccountName=logs;AccountKey=Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5... (truncated)",
        "Zm9vYmFyYmF6",
    ),
    ("Authorization: Token", f"GET /api with Authorization: Token {HEX40} -> 401", HEX40),
    ("US SSN", "the agent read back SSN 123-45-6789 to the caller", "123-45-6789"),
    ("IPv6", "connection reset by 2001:db8:85a3::8a2e:370:7334 port 443", "8a2e:370:7334"),
    (
        "sig= in a SAS URL",
        "GET https://a.blob.core.windows.net/c/b?sv=2022-11-02&sp=r&sig=Ab3d%2BEf6hIj9%2FMn2pQr5%3D",
        "Ab3d%2BEf6",
    ),
    ("the password is X", "User wrote: the password is Tr0ub4dor&3 and it fails", "Tr0ub4dor&3"),
]


def test_a_card_right_after_another_number_is_redacted_whole_as_a_card() -> None:
    for text in ("order 48213 4111 1111 1111 1111 declined", "amount 1 200 5500 0000 0000 0004 declined"):
        redacted, counts = redact_text(text)
        assert (
            redacted == text[: text.index(" 4111" if "4111" in text else " 5500")] + " [REDACTED:credit_card] declined"
        )
        assert counts == {"credit_card": 1}


@pytest.mark.parametrize(
    ("what", "text", "secret"), ISSUE_MISSES, ids=[f"{i}-{m[0]}" for i, m in enumerate(ISSUE_MISSES)]
)
def test_each_miss_the_tester_found_is_redacted(what: str, text: str, secret: str) -> None:
    redacted, counts = redact_text(text)
    assert secret not in redacted.replace("\\u200b", ""), (what, redacted)
    assert "[REDACTED:" in redacted and redact(redacted) == redacted


BENIGN_NEIGHBOURS = [  # look-alikes of the new rules that must survive
    "request 5f0c3a1e-9b7d-4c2a-8e6f-1a2b3c4d5e6f took 12:34:56.789",
    "ISBN 978-3-161-48410-0 and build 20260114.3",
    "the password is incorrect; Passwort ist falsch; mot de passe oublié; 密码错误，请重试",
    "Authorization: Token required",
    "at std::vector<int>::at in crate::store::open, mac 00:1a:2b:3c:4d:5e",
    "hexdump: 7f 45 4c 46 02 01 01 00 00 00 00 00 00 00 00 00",
    "用户反馈：代理回答错误，订单 48213 需要人工处理",
    f"commit {HEX40} merged",
]


@pytest.mark.parametrize("text", BENIGN_NEIGHBOURS)
def test_look_alikes_of_the_new_rules_survive(text: str) -> None:
    assert redact(text) == text


INVISIBLE = {
    "variation selector 16": "\ufe0f",
    "variation selector 17": "\U000e0100",
    "variation selector 256": "\U000e01ef",
    "Hangul filler": "\u3164",
    "Hangul choseong filler": "\u115f",
    "halfwidth Hangul filler": "\uffa0",
    "braille blank": "\u2800",
    "combining grapheme joiner": "\u034f",
    "C0 control": "\x01",
    "escape": "\x1b",
    "C1 control": "\x9b",
    "NEL": "\x85",
    "private use": "\ue000",
    "unassigned": "\U0003fffe",
    "tag": "\U000e0041",
}


def test_every_invisible_character_is_dropped_and_counted_at_capture(tmp_path: Path) -> None:
    service = make_service(tmp_path)
    hidden = "Agent " + "".join(f"x{c}" for c in INVISIBLE.values()) + "x quoted\u2028a rule"
    captured = service.capture_incident(IncidentCreate(title="Invisible characters", description=hidden))
    stored = service.get_incident(captured.id).description
    assert stored == "Agent " + "x" * (len(INVISIBLE) + 1) + " quoted\na rule"
    assert captured.redacted == {"invisible_characters": len(INVISIBLE) + 1}
    assert "\t" in redact("keeps\ttabs\nand newlines") and redact("a\r\nb") == "a\nb"


def test_invisible_characters_written_as_json_escapes_are_dropped_with_the_json_kept_valid() -> None:
    import json

    arguments = json.dumps({"q": "refund\u200b policy\U000e0041", "inner": json.dumps({"k": "a\u200bb"})})
    cleaned = redact(arguments)  # one level of escaping, and two (JSON in a JSON string): both dropped, both valid
    assert json.loads(cleaned) == {"q": "refund policy", "inner": '{"k": "ab"}'}
    assert redact(json.dumps({"emoji": "ok \U0001f600"})) == json.dumps({"emoji": "ok \U0001f600"})


def test_store_and_prompts_share_one_definition_of_invisible() -> None:
    import agent_postmortem.store.redact
    from agent_postmortem import prompts

    text = "a" + "".join(INVISIBLE.values()) + "b"
    assert agent_postmortem.store.redact.strip_invisible(text) == ("ab", len(INVISIBLE))
    assert prompts.neutralize(text) == "ab"


def test_a_secret_used_as_a_json_key_is_redacted_and_colliding_keys_both_stay() -> None:
    value = {"ghp_" + "a" * 36: 1, "ghp_" + "b" * 36: 2, "plain": "ok"}
    redacted = redact_value(value)
    assert not any("ghp_" in k for k in redacted) and sorted(redacted.values(), key=str) == [1, 2, "ok"]


FRAGMENTS = st.sampled_from(
    ["\\u200b", "\\\\u200b", "\\ud83d\\ude00", "\\udb40\\udc41", "\\", "u200b", "\x1f", "u0000", "\r", "\u2028"]
    + [
        "\ufe0f",
        "<",
        "/",
        "DATA",
        "密码=",
        "password: ",
        "4111 1111 1111 1111",
        " 12 ",
        "+1",
        "::",
        "sk-proj-",
        "a" * 20,
    ]
)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.lists(st.one_of(st.text(max_size=20), FRAGMENTS), max_size=12).map("".join))
@example("\\\x1fu0000")  # found by a longer run
def test_normalising_and_redacting_are_idempotent_on_escapes_and_invisible_characters(text: str) -> None:
    from agent_postmortem import prompts
    from agent_postmortem.store.invisible import strip_invisible

    once = strip_invisible(text)[0]
    assert strip_invisible(once)[0] == once  # dropping a character can complete an escape: `\\` `\x1f` `u0000`
    assert redact(redact(text)) == redact(text)
    assert prompts.neutralize(prompts.neutralize(text)) == prompts.neutralize(text)


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
