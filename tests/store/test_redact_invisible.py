"""Invisible characters before storage: every kind is dropped and counted at capture, also when written as JSON
escapes, the store and the prompts share one definition of them, and dropping them is idempotent."""

from pathlib import Path

from hypothesis import example, given, settings
from hypothesis import strategies as st

from agent_postmortem.store.models import IncidentCreate
from agent_postmortem.store.redact import redact
from tests.factories import make_service
from tests.store.redact_samples import INVISIBLE


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
        "\x1b[1m",
        "\\u001b[0m",
        "\x1b]8;;",
        "\x07",
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


TOKEN = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"


def test_a_token_printed_in_colour_is_redacted_and_the_terminal_sequences_are_dropped_whole() -> None:
    """Only the ESC used to go: "[1mghp_..." was left, the token glued to the colour's rest and stored as it was."""
    import json

    assert (
        redact(f"auth failed for \x1b[1;33m{TOKEN}\x1b[0m, retrying")
        == "auth failed for [REDACTED:github_token], retrying"
    )
    logged = json.dumps({"log": f"\x1b[1m{TOKEN}\x1b[0m"})  # a log line serialised with ensure_ascii: \u001b[1m
    assert json.loads(redact(logged)) == {"log": "[REDACTED:github_token]"}
    linked = "see \x1b]8;;https://ci.example/run/7\x07the run\x1b]8;;\x07 and \x1b]0;title\x1b\\ done"
    assert redact(linked) == "see the run and  done"  # a hyperlink keeps its text, a title goes


def test_invisible_characters_are_dropped_and_counted_before_storage(tmp_path: Path) -> None:
    service = make_service(tmp_path)
    hidden = "Refund\u200b policy\u202e bug\U000e0049\U000e0047"
    captured = service.capture_incident(IncidentCreate(title=f"Agent quoted a {hidden}"))
    assert captured.redacted == {"invisible_characters": 4}
    stored = service.get_incident(captured.id)
    assert stored.title == "Agent quoted a Refund policy bug" and stored.redactions == {"invisible_characters": 4}
    assert "\u200b" not in service.render_report(captured.id)
