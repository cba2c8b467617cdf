"""Public ids as models and people write them."""

import pytest

from agent_postmortem.store.errors import InvalidId
from agent_postmortem.store.ids import action_pk, incident_ids_in, incident_pk, is_incident_id, written_id


@pytest.mark.parametrize(
    "written",
    ["INC-42", " inc-42 ", "42", "\u200fINC-42\u200e", "INC-42\u200b", "\ufeffINC-42", "INC\u201142", "INC\u201342",
     "INC\u221242", "\u2066INC-42\u2069"],
    ids=["plain", "spaces", "number", "rtl-marks", "zero-width", "bom", "nb-hyphen", "en-dash", "minus", "isolates"],
)  # fmt: skip
def test_an_id_copied_with_invisible_characters_or_a_typographic_dash_is_that_id(written: str) -> None:
    """An id a model copied from text around it (bidi marks in Arabic or Hebrew text, a zero-width space) or wrote
    with the non-breaking hyphen was refused as "not a valid incident id": the model saw nothing to fix."""
    assert incident_pk(written) == 42


@pytest.mark.parametrize(
    "written",
    ["INC 42", "INC42", "inc_42", "#42", "incident 42", "Incident #42", "incident: INC-42", "INC #42", "`INC-42`",
     "**INC-42**", '"INC-42"', "[INC-42]", "INC-42.", "INC-42,", "[INC-42](report://INC-42)", "[INC-42](INC-42)"],
)  # fmt: skip
def test_an_id_in_the_forms_a_model_writes_in_prose_is_that_id(written: str) -> None:
    """A model names an incident as it would in a sentence ("incident 42", "#42", "INC 42", in backticks or bold,
    with a full stop after it): each was refused as "not a valid incident id" and cost the model a retry. A link
    copied from a runbook or report ("[INC-42](report://INC-42)") was "more than one incident id"."""
    assert incident_pk(written) == 42


@pytest.mark.parametrize(
    "written",
    ["INC-²", "INC-①", "INC-١٢", "INC-", "INC--42", "INC-4\u200b2x", "INC-42 (checkout)", "id: INC-42", "incident",
     "incident AI-42", "PAT-42", "#", "[INC-42](report://INC-43)"],
)  # fmt: skip
def test_what_is_not_an_id_is_still_refused(written: str) -> None:
    with pytest.raises(InvalidId):
        incident_pk(written)


def test_an_action_item_id_with_a_typographic_dash_names_its_kind() -> None:
    with pytest.raises(InvalidId) as refused:
        incident_pk("AI\u20117")
    assert refused.value.other == "action item"
    assert action_pk("\u200fai\u20117") == 7
    assert action_pk("action item 7") == action_pk("AI 7") == 7
    with pytest.raises(InvalidId) as refused:
        incident_pk("AI 7")
    assert refused.value.other == "action item"


@pytest.mark.parametrize(("query", "is_id"), [("#42", True), ("`#42`.", True), ("incident 42", True), ("42", False),
                                              ("HTTP 429", False), ("C#42", False), ("#42 #43", False)])  # fmt: skip
def test_a_query_is_an_incident_id_when_it_names_one_and_not_when_it_is_a_number(query: str, is_id: bool) -> None:
    """A search for "#42" (how trackers name an issue) looked for the number 42 in any incident's text."""
    assert is_incident_id(query) is is_id


def test_the_incident_ids_inside_a_text_are_found_in_order_once_without_action_items() -> None:
    assert incident_ids_in("what happened in inc\u201127, INC 3 and INC-27? not AI-4") == ["INC-27", "INC-3"]
    assert incident_ids_in("nothing here, 27 users") == []


@pytest.mark.parametrize(
    "written",
    ["PAT-3", "PAT 3", "pat3", "PAT_3", '"PAT-3"', "`PAT-3`", "**PAT-3**", "pattern 3", "Pattern #3", "pattern-3",
     "pattern: PAT-3", "PAT-3.", "[PAT-3](runbook://PAT-3)", "PAT\u20113", "PAT\u20133", "\u200fPAT-3\u200e",
     "[PAT\u20113](runbook://PAT\u20113)"],
)  # fmt: skip
def test_a_pattern_id_is_read_in_every_form_an_incident_id_is(written: str) -> None:
    """A pattern id was read by a second, narrower reader: a runbook link copied from a report ("[PAT-3](runbook://
    PAT-3)"), a typographic dash or a character no one sees left it an unknown runbook."""
    assert written_id(written) == "PAT-3"


@pytest.mark.parametrize("written", ["incident PAT-3", "pattern INC-3", "pattern AI-3", "action item PAT-3"])
def test_a_word_and_a_prefix_that_disagree_are_read_as_neither(written: str) -> None:
    assert written_id(written) == written.upper()
    with pytest.raises(InvalidId):
        incident_pk(written)


def test_a_pattern_id_where_an_incident_id_goes_says_what_it_is_and_where_to_look() -> None:
    """`incident_pk("PAT-3")` said only "that is not a valid incident id": a pattern id, whose incidents its runbook
    lists, was called malformed."""
    with pytest.raises(InvalidId) as given:
        incident_pk("pat-3")
    assert str(given.value) == "PAT-3 is a pattern id, not an incident id (expected INC-<number>)"  # no command:
    # the store's error is shown on a restore and in the web view too; each surface adds where to look
    with pytest.raises(InvalidId, match=r"^PAT-3 is a pattern id, not an action item id"):
        action_pk("PAT-3")
    with pytest.raises(InvalidId, match=r"^that is an action item id, not an incident id"):
        incident_pk("AI-3")
