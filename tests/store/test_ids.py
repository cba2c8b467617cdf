"""Public ids as models and people write them."""

import pytest

from agent_postmortem.store.errors import InvalidId
from agent_postmortem.store.ids import action_pk, incident_pk


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


@pytest.mark.parametrize("written", ["INC-²", "INC-①", "INC-١٢", "INC-", "INC 42", "INC--42", "INC-4\u200b2x"])
def test_what_is_not_an_id_is_still_refused(written: str) -> None:
    with pytest.raises(InvalidId):
        incident_pk(written)


def test_an_action_item_id_with_a_typographic_dash_names_its_kind() -> None:
    with pytest.raises(InvalidId) as refused:
        incident_pk("AI\u20117")
    assert refused.value.other == "action item"
    assert action_pk("\u200fai\u20117") == 7
