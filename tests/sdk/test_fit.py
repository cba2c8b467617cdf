"""What agent code throws at the recorder: every odd payload is stored (fitted), and the agent sees only its own
exception. The first test runs an agent script as its own process, as users write it."""

import json
import os
import time
from pathlib import Path

import pytest

from agent_postmortem.config import Settings
from agent_postmortem.sdk.fit import fit
from agent_postmortem.sdk.recorder import Recorder
from agent_postmortem.service.facade import PostmortemService
from agent_postmortem.service.runtime import build_service
from agent_postmortem.store.models import IncidentCreate
from agent_postmortem.store.models.fields import MAX_CAPTURE_BYTES
from tests.factories import make_service
from tests.processes import run_agent_script

ODD_AGENT = r"""
import asyncio, json, sys
from agent_postmortem import Recorder

recorder = Recorder(agent="odd-bot", wait_on_error=0)


class Unprintable(Exception):
    def __str__(self):
        raise RuntimeError("the payload cannot be printed")


def run(tool, error, **context):
    try:
        with recorder.watching(tool=tool, **context):
            raise error
    except BaseException as seen:
        assert seen is error, f"{tool}: the agent saw {seen!r}"


run("unprintable", Unprintable())
run("binary", ValueError("frame bin\x00ary"))
run("undecodable", ValueError(b"\xff\xfe caf\xe9".decode("utf-8", "surrogateescape")))
run("huge", ValueError("x" * 3_000_000), tool_args=json.dumps({"rows": ["y" * 100] * 1000}))
run("wide", ValueError("\u5931\u8d25" * 1000), description="\u63cf\u8ff0" * 9000)
run("dict-args", ValueError("bad args"), tool_args={"city": "Lisbon", "nights": 3})


class NoRepr:
    def __repr__(self):
        raise RuntimeError("no repr")


import datetime
looped = {"order": "A-1"}
looped["self"] = looped  # an agent's state object that points back at itself
deep = []
for _ in range(5_000):
    deep = [deep]
odd_args = {
    "looped": looped,
    (1, 2): "a tuple key",
    "at": datetime.datetime(2026, 12, 5, 10, 30),
    "tags": frozenset(["vip"]),
    "raw": b"\x00\xff",
    "opaque": NoRepr(),
    "deep": deep,
}
run("odd-args", ValueError("odd args"), tool_args=odd_args, prompt=[looped])


@recorder.watch(tool="stream")
def stream():
    yield "first chunk"
    raise ConnectionError("stream reset by peer")


@recorder.watch(tool="astream")
async def astream():
    yield "first chunk"
    raise ConnectionError("async stream reset by peer")


async def consume():
    return [chunk async for chunk in astream()]


for body in (lambda: list(stream()), lambda: asyncio.run(consume())):
    try:
        body()
    except ConnectionError:
        pass
assert recorder.flush(120), "not flushed"
print(recorder.failed, recorder.dropped)
"""


@pytest.mark.slow
def test_odd_exceptions_from_an_agent_process_are_all_stored_and_reraised_unchanged(tmp_path: Path) -> None:
    done = run_agent_script(tmp_path, ODD_AGENT, timeout=300, POSTMORTEM_HOME=str(tmp_path / "home"))
    env = {**os.environ, "POSTMORTEM_HOME": str(tmp_path / "home"), "POSTMORTEM_LLM": "none"}
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["0", "0"], done.stderr[-2000:]  # nothing failed, nothing dropped
    service = build_service(Settings.from_env(env))
    stored = {i.tool: i for i in (service.store.get_or_raise(s.id) for s in service.list_incidents().incidents)}
    assert stored.keys() == {
        *("unprintable", "binary", "undecodable", "huge", "wide", "dict-args", "odd-args", "stream", "astream")
    }
    odd = json.loads(stored["odd-args"].tool_args or "")  # every argument kept, not "<unprintable dict>"
    assert odd["looped"] == {"order": "A-1", "self": "<cycle>"} and odd["(1, 2)"] == "a tuple key"
    assert odd["at"] == "2026-12-05T10:30:00" and odd["tags"] == ["vip"]
    assert odd["raw"] == "b'\\x00\\xff'" and odd["opaque"] == "<unprintable NoRepr>"
    assert odd["deep"][0][0][0] == [[[[[[[[[[[[[[[["…"]]]]]]]]]]]]]]]]
    assert stored["odd-args"].prompt_excerpt == '[{"order": "A-1", "self": "<cycle>"}]'
    assert stored["unprintable"].error_message == "<unprintable Unprintable>"
    assert stored["binary"].error_message == "frame bin\\x00ary"
    assert stored["undecodable"].error_message == "\\udcff\\udcfe caf\\udce9"
    assert stored["dict-args"].tool_args == '{"city": "Lisbon", "nights": 3}'
    assert stored["stream"].error_message == "stream reset by peer"
    assert stored["astream"].error_type == "ConnectionError"
    wide = stored["wide"]
    assert wide.stack_trace and "ValueError: \u5931\u8d25" in wide.stack_trace and "in run" in wide.stack_trace
    assert wide.stack_trace.endswith("\u5931\u8d25…")  # the message's start, no character split


def test_a_fitted_capture_keeps_the_end_of_the_stack_trace_and_stays_within_the_total() -> None:
    fields = {
        "title": "ValueError in wide",
        "description": "\u63cf" * 20_000,
        "stack_trace": "Traceback\n" + "  frame\n" * 5_000 + "ValueError: boom\n",
        "error_message": "m\x00" * 1_500,
        "idempotency_key": "key-\x00-kept",
    }
    fitted = fit(fields)
    assert fitted["stack_trace"].endswith("ValueError: boom\n") and len(fitted["error_message"]) == 2_000
    assert fitted["idempotency_key"] == "key-\x00-kept"  # compared exactly as sent: never altered
    total = sum(len(v.encode()) for k, v in fitted.items() if isinstance(v, str) and k != "idempotency_key")
    assert total <= MAX_CAPTURE_BYTES
    IncidentCreate.model_validate({**fitted, "idempotency_key": "key-kept"})


def test_a_context_value_no_fitting_can_save_is_dropped_naming_its_field(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    service: PostmortemService = make_service(tmp_path)
    recorder = Recorder(service=lambda: service)
    recorder.capture(ValueError("boom"), category="not-a-category-sk-secret")
    assert recorder.failed == 1
    assert "invalid context field(s): category" in caplog.text and "sk-secret" not in caplog.text


TOKEN = "ghp_Q7wErTy9UiOp2AsDfGhJkLzXcVbNm1234567"
KEY = "sk-proj-Zx9Cv8Bn7Mq6Wl5Ek4Rt3Yu2Io1PaSdFgHjKl0"


@pytest.mark.parametrize("before_the_cut", [10, 20, 33])
def test_a_secret_that_a_field_cut_would_split_is_never_stored_in_part(tmp_path: Path, before_the_cut: int) -> None:
    """Cut to 2,000 characters before redaction, the prompt ended in `ghp_Q7wErTy9UiOp2AsDfGhJkLzXcVbNm1`, a token no
    rule recognised any more, stored in clear; so did the start of a key in a long message and the end of one where a
    long stack trace was cut."""
    service: PostmortemService = make_service(tmp_path)
    recorder = Recorder(service=lambda: service, wait_on_error=0)
    pad = "x" * (2_000 - before_the_cut - 1)
    recorder.capture(
        ValueError("y" * (2_000 - before_the_cut - 1) + " " + KEY),
        tool="crm.update",
        prompt=f"{pad} {TOKEN} and more",
        tool_args={"note": f"{pad[:-10]} {TOKEN}"},
        stack_trace=KEY + "\n" + "  frame\n" * 2_499,  # 20,000 characters of end kept: the key's last characters
    )
    recorder.flush()
    (summary,) = service.list_incidents().incidents
    stored = service.get_incident(summary.id).model_dump_json()
    for secret in (TOKEN, KEY):
        assert secret[:10] not in stored and secret[-10:] not in stored, [
            k for k, v in json.loads(stored).items() if secret[:12] in str(v) or secret[-12:] in str(v)
        ]
    assert "x" * 1_000 in stored and "y" * 1_000 in stored  # what was around the secret is kept


def test_trimming_a_capture_to_its_total_never_splits_a_secret() -> None:
    description = "d" * 18_929 + " " + TOKEN + " " + "d" * 1_000  # the description is trimmed to 18,943 bytes
    fitted = fit({"title": "t", "description": description, "stack_trace": "s" * 20_000, "tool_args": "a" * 2_000})
    assert TOKEN[:6] not in fitted["description"] and fitted["description"].startswith("d" * 18_929)


def test_a_payload_of_megabytes_is_fitted_without_holding_the_agent() -> None:
    """A 40 MB binary payload as tool arguments took 0.9 s of the agent's own thread (its whole `repr`, then every
    byte escaped) to keep 2,000 characters; a 50 MB message was escaped whole too."""
    payload, message = b"\x00\xff" * 20_000_000, "A" * 50_000_000 + "\x00"
    started = time.perf_counter()
    fitted = fit({"title": "t", "tool_args": payload, "error_message": message})
    fitted_nested = fit({"title": "t", "tool_args": {"body": payload}})
    took = time.perf_counter() - started
    assert took < 0.2, took
    assert fitted["tool_args"].startswith("b'\\x00\\xff") and len(fitted["tool_args"]) == 2_000
    assert fitted["error_message"] == "A" * 2_000
    assert fitted_nested["tool_args"].startswith('{"body": "b\'\\\\x00') and len(fitted_nested["tool_args"]) == 2_000


@pytest.mark.parametrize(
    ("tool_args", "secret"),
    [
        ([("password", "tuplepass99")], "tuplepass99"),  # form fields as pairs
        ({"params": [["X-Api-Key", "9f8e7d6c5b4a"], ["q", "weather"]]}, "9f8e7d6c5b4a"),  # headers as pairs
        ({"password": b"bytespass77"}, "bytespass77"),  # a value as bytes
        ([("api_key", b"abc123def9")], "abc123def9"),
        (str([("client_secret", b"zq81Kd9sLm")]), "zq81Kd9sLm"),  # the arguments' repr, as a string
    ],
)
def test_credentials_in_pairs_or_as_bytes_are_redacted_from_captured_arguments(
    tmp_path: Path, tool_args: object, secret: str
) -> None:
    """A credential as the second item of a pair (`[("password", "…")]`, how requests and httpx take form fields,
    headers and query params) or written as bytes (`{"password": b"…"}`, stored as `"b'…'"`) was stored in clear:
    the rules looked for a name followed by `:` or `=` and a value starting right after the quote."""
    service: PostmortemService = make_service(tmp_path)
    recorder = Recorder(service=lambda: service, wait_on_error=0)
    recorder.capture(ValueError("login failed"), tool="http.post", tool_args=tool_args)
    recorder.flush()
    (summary,) = service.list_incidents().incidents
    stored = service.get_incident(summary.id)
    assert secret not in stored.model_dump_json() and "[REDACTED:password_pair]" in (stored.tool_args or "")


def test_a_field_that_is_one_long_secret_keeps_its_placeholder_and_the_capture() -> None:
    """A title that is all one private key, longer than the title's 200 characters: left out whole, it left an empty
    title and the capture was refused; it is the placeholder redaction would have written."""
    key = "-----BEGIN RSA PRIVATE KEY-----\n" + "MIIEowIBAAKCAQEA7" * 30 + "\n-----END RSA PRIVATE KEY-----"
    fitted = fit({"title": key, "stack_trace": key * 40})
    assert fitted["title"] == "[REDACTED:private_key]" and fitted["stack_trace"].startswith("-----BEGIN")
    IncidentCreate.model_validate(fitted)
