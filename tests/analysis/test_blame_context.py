"""A capitalised word that cannot be a person's name is no agent of a failure."""

import pytest

from agent_postmortem.analysis.blame import detect


@pytest.mark.parametrize(
    "text",
    [
        "Unacceptable and should never be possible.",
        "Painful and should not have happened.",
        "Regrettable, and it should never have reached users.",
        "Dangerous and should have been caught by the pipeline.",
    ],
)
def test_a_capitalised_adjective_opening_a_fragment_is_not_a_name(text: str) -> None:
    assert detect(text) == []


@pytest.mark.parametrize(
    "text", ["Clive should have reviewed the migration.", "Dana forgot to run the tests and should have checked."]
)
def test_a_name_that_opens_the_sentence_still_is_one(text: str) -> None:
    assert detect(text)
