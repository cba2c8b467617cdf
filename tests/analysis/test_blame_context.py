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


@pytest.mark.parametrize(
    "document",
    [
        "# Postmortem\nDana deployed the migration without reading it.\n",
        "## Root cause\n\nDana deployed the migration without reading it.\n",
        "> Timeline\nDana deployed the migration without reading it.\n",
        "- Summary\nDana deployed the migration without reading it.\n",
    ],
)
def test_a_name_opening_the_line_after_a_heading_is_found_with_its_own_span(document: str) -> None:
    """A heading's last word is not the first word of a name ("Postmortem Dana"), and "Root cause" over a paragraph
    is no "'cause Dana ...": the finding is the person's sentence, not a stretch across the heading."""
    spans = detect(document)
    assert [document[s.start : s.end] for s in spans] == ["Dana deployed the migration without reading"]


def test_the_second_word_of_a_product_name_wrapped_onto_the_next_line_is_still_no_name() -> None:
    assert detect("We use Gemini\nFlash deleted the table by mistake.") == []
