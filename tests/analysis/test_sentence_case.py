"""The first word of a sentence built from a user's words: capitalised only when it is a plain word."""

import pytest

from agent_postmortem.analysis.sentence_case import mid_sentence, sentence_case


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("the migration was deployed", "The migration was deployed"),
        ("staging's cache was cleared", "Staging's cache was cleared"),
        ("read-only mode was left on", "Read-only mode was left on"),
        ("kubectl apply was run", "kubectl apply was run"),
        ("iOS builds were pushed", "iOS builds were pushed"),
        ("ghp_T0KEN was pushed", "ghp_T0KEN was pushed"),
        ("`foo` was deployed", "`foo` was deployed"),
        ("config/prod.yaml was deleted", "config/prod.yaml was deleted"),
        ("v2 was shipped", "v2 was shipped"),
        ("[REDACTED:github_token] was pushed", "[REDACTED:github_token] was pushed"),
        ("", ""),
    ],
)
def test_only_a_plain_lower_case_word_is_capitalised(text: str, said: str) -> None:
    assert sentence_case(text) == said


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("The migration was deployed", "the migration was deployed"),
        ("GitHub tokens were pushed", "GitHub tokens were pushed"),
        ("IOS builds were pushed", "IOS builds were pushed"),
        ("Deploy_v2.sh was run", "Deploy_v2.sh was run"),
    ],
)
def test_only_a_capitalised_plain_word_is_lowered_inside_a_sentence(text: str, said: str) -> None:
    assert mid_sentence(text) == said
