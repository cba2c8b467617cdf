"""Redaction before storage: every type is caught in realistic text, look-alikes survive, each reported miss is
redacted, it is idempotent, and a redacted record keeps its shape and its length limits."""

import random
from typing import TYPE_CHECKING

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agent_postmortem.evals.redaction import cases, look_alikes
from agent_postmortem.evals.redaction_corpus import BENIGN, BENIGN_CARRIERS, KINDS
from agent_postmortem.http.teams import add_token
from agent_postmortem.store.models import IncidentCreate, TimelineEventCreate
from agent_postmortem.store.redact import redact, redact_model, redact_text, redact_value
from tests.store.redact_samples import HEX40, ISSUE_MISSES

if TYPE_CHECKING:
    from pathlib import Path

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
    "the secret is ThisIsAVeryLongCamelCaseIdentifierNameXYZW",  # letters only: a name, not 40 characters of base64
]


@pytest.mark.parametrize("text", BENIGN_NEIGHBOURS)
def test_look_alikes_of_the_new_rules_survive(text: str) -> None:
    assert redact(text) == text


def test_a_digest_after_an_aws_key_id_is_not_taken_for_its_secret_key() -> None:
    assert redact(f"key AKIA2E3F4G5H6J7K8L9M rotated at commit {HEX40}") == (
        f"key [REDACTED:aws_access_key_id] rotated at commit {HEX40}"
    )


AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"  # AWS's documented example secret access key


@pytest.mark.parametrize(
    "text",
    [
        f"Access key ID,Secret access key\nAKIAIOSFODNN7EXAMPLE,{AWS_SECRET}",  # the console's CSV, as pasted
        f"id AKIAIOSFODNN7EXAMPLE\n{AWS_SECRET}",  # on the key id's next line
        f"key id AKIAIOSFODNN7EXAMPLE and its secret, as the rotation script printed it to the log: {AWS_SECRET}",
        f"key={AWS_SECRET}",
        f"aws_key: '{AWS_SECRET}'",
        f"SecretAccessKey={AWS_SECRET}",
        f"aws_secret {AWS_SECRET}",
    ],
)
def test_an_aws_secret_key_without_its_full_label_is_redacted_near_its_key_id_or_after_a_key_word(text: str) -> None:
    """The secret access key was stored in clear unless labelled `aws_secret_access_key` or within 40 characters
    after the key id on its line: on the next line (the console's CSV), further along it, or after `key=`."""
    assert AWS_SECRET not in redact(text) and "[REDACTED:" in redact(text)


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        (f"key={HEX40}", HEX40),  # a digest or a commit after key= is no secret key
        (f"AKIAIOSFODNN7EXAMPLE\n\n{AWS_SECRET}", AWS_SECRET),  # a paragraph away from the key id
        (f"sessions {AWS_SECRET}", AWS_SECRET),  # 40 characters of base64, no key id or key word near
        (
            "key=ABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFGHIJKLMN",
            "ABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFGHIJKLMN",
        ),  # one case: a name
    ],
)
def test_forty_characters_of_base64_far_from_a_key_id_or_a_key_word_stay(text: str, kept: str) -> None:
    assert kept in redact(text)


def test_a_secret_used_as_a_json_key_is_redacted_and_colliding_keys_both_stay() -> None:
    value = {"ghp_" + "a" * 36: 1, "ghp_" + "b" * 36: 2, "plain": "ok"}
    redacted = redact_value(value)
    assert not any("ghp_" in k for k in redacted) and sorted(redacted.values(), key=str) == [1, 2, "ok"]


def test_redacting_a_record_keeps_its_shape() -> None:
    capture = IncidentCreate(title="Leak of ghp_" + "a" * 36, error_message="fine")
    redacted, counts = redact_model(capture)
    assert redacted.title == "Leak of [REDACTED:github_token]" and counts["github_token"] == 1
    assert redact_model(redacted)[0] == redacted and redact_model(capture.model_copy(update={"title": "ok!"}))[1] == {}


def test_a_placeholder_longer_than_the_secret_never_breaks_a_length_limit() -> None:
    event = TimelineEventCreate(description="x" * 1990 + " 8.8.8.8")  # 2,000 characters with a 7-character IP
    redacted, counts = redact_model(event)
    assert counts["ip_address"] == 1 and len(redacted.description) == 2000 and "8.8.8.8" not in redacted.description


def test_this_servers_own_team_tokens_are_redacted(tmp_path: "Path") -> None:
    """A token from `postmortem token add` pasted bare into an agent's error (a failed call to the team server, a
    config dump) was stored as it was: it has no prefix the rules knew and no credential word before it."""
    tokens = [add_token(tmp_path / "tokens.toml", "payments") for _ in range(50)]
    for token in tokens:
        for carrier in ("team server refused {v} (401)", "PM={v}", "recorder(url, {v})", "'{v}'", "用户{v}"):
            redacted, counts = redact_text(carrier.format(v=token))
            assert token[3:11] not in redacted and counts == {"postmortem_token": 1}, redacted
    for name in ("pm_incident_review_scheduler_callback_handle", "pm_" + "a" * 43, "pm_" + "A1" * 30):
        assert redact(f"called {name}()") == f"called {name}()"


def test_a_value_ending_in_base64_padding_before_a_quote_is_a_value_not_a_name() -> None:
    text = "curl -H 'authorization: basic NnkxVG9VOmJrcDFBUjZKa3A3MA==' https://svc.internal/health"
    assert redact(text) == "curl -H 'authorization: basic [REDACTED:basic_auth_header]' https://svc.internal/health"


@pytest.mark.parametrize(
    "text",
    [  # stored in clear: the name ends in "key", which alone is no credential word (a sort or partition key)
        "SECRET_KEY=Zk8sLq2Vn5Rt7Wx1Yb4C",
        "MINIO_SECRET_KEY=Zk8sLq2Vn5Rt7Wx1Yb4C",
        "app.config['secret_key'] = 'Zk8sLq2Vn5Rt7Wx1Yb4C'",
        "SECRET_KEY_BASE=Zk8sLq2Vn5Rt7Wx1Yb4C",
        "jwt:\n  signing_key: Zk8sLq2Vn5Rt7Wx1Yb4C",
        "ENCRYPTION_KEY=Zk8sLq2Vn5Rt7Wx1Yb4C",
        "master_key: Zk8sLq2Vn5Rt7Wx1Yb4C",
    ],
)
def test_a_secret_named_secret_signing_encryption_or_master_key_is_redacted(text: str) -> None:
    assert "Zk8sLq2V" not in redact(text)


def test_other_keys_and_flags_named_after_a_secret_key_are_kept() -> None:
    text = "partition_key=abc123XYZ secret_key_id=kid-7 has_secret_key = True"
    assert redact(text) == text


def test_a_password_named_once_is_redacted_wherever_else_the_text_or_the_record_repeats_it() -> None:
    """'password: hunter2hunter2' was redacted, but the same value in the line above it ('the agent printed
    hunter2hunter2') and in the incident's title stayed in clear: the rules see a password by its name, and the
    other places have none."""
    text = "The agent printed hunter2hunter2 in chat.\nconfig had password: hunter2hunter2"
    redacted, counts = redact_text(text)
    assert "hunter2" not in redacted and counts["password_pair"] == 2, redacted
    incident = IncidentCreate(
        title="Agent posted the DB password Tr0ub4dor&3x in chat",
        description="It echoed its config: DB_PASSWORD=Tr0ub4dor&3x",
        impact="every user of the Tr0ub4dor&3x account",
    )
    stored, found = redact_model(incident)
    assert "Tr0ub4dor" not in stored.model_dump_json() and found["password_pair"] == 3, stored
    short = redact_model(IncidentCreate(title="Retry 8 times", description="password=secret8 retries=8"))[0]
    assert short.title == "Retry 8 times"  # a value too short to be a password is replaced only where named
