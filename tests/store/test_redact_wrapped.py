"""A secret wrapped over two lines (a terminal, a log viewer or a mail client cut it at its width) is redacted
whole; the next line of a config file, a word after an address and numbers on two lines are left alone."""

import pytest

from agent_postmortem.store.redact import redact

# Made-up values in the providers' shapes, assembled here so no scanner reads them as leaked keys.
KEY = "sk-proj-" + "Ab3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5bC7dE9fG1hJ3kL5mN7pQ9rS1tU3vW5"
GHP = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"
WRAPPED_AT_40 = "\n".join(("Authorization: Bearer " + KEY)[i : i + 40] for i in range(0, 22 + len(KEY), 40))


@pytest.mark.parametrize(
    ("text", "pieces"),
    [  # the tail of the key was stored as it was, or the whole token when each half was too short for its rule
        ("OPENAI_API_KEY=" + KEY[:40] + "\n" + KEY[40:], [KEY[:40], KEY[40:]]),
        ("OPENAI_API_KEY=" + KEY[:40] + "\r\n" + KEY[40:], [KEY[40:]]),
        ("Authorization: token " + GHP[:20] + "\n" + GHP[20:] + "\nnext line", [GHP[:20], GHP[20:]]),
        (WRAPPED_AT_40, [KEY[18:58], KEY[58:]]),
        ("please email the on-call lead jane.doe@exam\nple.com", ["jane.doe", "ple.com"]),
    ],
)
def test_a_secret_wrapped_over_lines_is_redacted_whole(text: str, pieces: list[str]) -> None:
    redacted = redact(text)
    assert "[REDACTED:" in redacted
    assert not [piece for piece in pieces if piece in redacted], redacted


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ("OPENAI_API_KEY=" + KEY + "\nDB_HOST=localhost", "\nDB_HOST=localhost"),
        ("please email the on-call lead at jane@example.com\nfor access", "\nfor access"),
        ("Authorization: token " + GHP + "\nnext line of the log", "\nnext line of the log"),
        ("the batch failed for 3 customers and 1234\n5678 requests were retried", "1234\n5678 requests"),
        ("see https://docs.python.org/3/library/re.html\nfor the details", "re.html\nfor the details"),
    ],
)
def test_the_line_after_a_secret_and_text_that_only_ends_a_line_are_kept(text: str, kept: str) -> None:
    assert kept in redact(text)


def test_a_secret_right_after_an_escaped_line_break_in_a_json_string_is_redacted() -> None:
    # "\nsk-…": the "n" of the escape glued to the key, so no rule saw it start; an address took the "n" along
    text = '{"stdout": "keys:\\n' + KEY + "\\nthen\\n" + GHP + '\\nmail jane@example.com\\njane@example.com"}'
    redacted = redact(text)
    assert KEY[:20] not in redacted and GHP[:20] not in redacted and "jane@" not in redacted, redacted
    assert redacted.count("\\n") == 5 and "\\[" not in redacted, redacted
