"""The check that a required text has something visible: it answers as stripping the text would, without stripping a
text no escape sequence can be in (the capture strips it anyway, when it is redacted)."""

import re

import pytest

from agent_postmortem.store import invisible
from agent_postmortem.store.invisible import NOTHING_VISIBLE, something_visible, strip_invisible


def test_a_plain_title_is_not_stripped_a_first_time_by_the_check(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every field was stripped whole by the validator, then again by the redaction that stores it."""
    from agent_postmortem.store.models import ActionItemCreate, IncidentCreate

    calls: list[str] = []
    monkeypatch.setattr(invisible, "strip_invisible", lambda text: (calls.append(text), strip_invisible(text))[1])
    IncidentCreate(title="Fares API returned 429 Too Many Requests \u200b")
    ActionItemCreate(title="\u00a0Add a retry budget")
    assert calls == []
    with pytest.raises(
        ValueError, match=re.escape(NOTHING_VISIBLE)
    ):  # an escape can take the letters after it: stripped
        something_visible("\x1b[1m\x1b[0m")
    assert calls == ["\x1b[1m\x1b[0m"]


@pytest.mark.parametrize(
    "text",
    ["a", " \u200b x", "\u200b\u200c\u2800", "\u00a0\u3000\u2028", "\r\n\t", "\\u200b\\u200c", "\\u200bz", "\x1b[31m",
     "\x1b[31mred\x1b[0m", "\x1b]8;;http://x\x07\x1b]8;;\x07", "\U000e0041\U000e0042", "\ufe0f\u034f", "\x85\x0b"],
)  # fmt: skip
def test_the_check_refuses_exactly_what_has_nothing_left_once_stripped(text: str) -> None:
    visible = bool(strip_invisible(text)[0].strip())
    if visible:
        assert something_visible(text) == text
    else:
        with pytest.raises(ValueError, match=re.escape(NOTHING_VISIBLE)):
            something_visible(text)
