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
    "text",
    [
        "Policy sources were never ingested into retrieval, so the agent filled the gap with invented policy.",
        "Policy files were never indexed.",
        "Refund policy sources were never ingested into retrieval and no eval covered policy answers.",
        "Release notes weren't reviewed before the rollout.",
    ],
)
def test_a_capitalised_word_heading_a_plural_in_es_is_not_a_name(text: str) -> None:
    """A root cause opening "Policy sources were never ingested ..." was read as a person named Policy failing, and
    the draft guard refused the analysis as blaming; a plural in -es is a noun when a plural verb follows it."""
    assert detect(text) == []


@pytest.mark.parametrize(
    "text", ["Dana pushes the config without review and breaks prod.", "Lee closes tickets without testing them."]
)
def test_a_name_before_a_verb_in_es_still_is_one(text: str) -> None:
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


@pytest.mark.parametrize(
    ("document", "found"),
    [  # a paragraph wrapped at any width is read as the sentence it is
        ("Notes from the review.\nDana deployed the migration\nwithout reading it.\n", "migration\nwithout"),
        ("A Colorado Springs attorney, Zachariah\nCrabill, mistakenly used hallucinated cases.", "Crabill, mistakenly"),
        ("The outage happened because the\nintern deleted the production table.", "intern deleted"),
        # lines of a plain list, no markers: each line starts a sentence
        ("The alert fired at 09:14\nForgot to renew the domain.\nService restored at 10:42", "Forgot to renew"),
        ("Timeline\nBy mistake, I have made commits to the main repo.", "By mistake"),
    ],
)
def test_wrapped_paragraphs_and_plain_lines_are_read_as_the_sentences_they_hold(document: str, found: str) -> None:
    spans = detect(document)
    assert len(spans) == 1 and found in document[spans[0].start : spans[0].end]


def test_a_wrapped_sentence_about_a_system_is_still_not_blame() -> None:
    assert detect("The retry loop failed because the upstream\nAPI timed out, and the agent\ngave up.") == []
