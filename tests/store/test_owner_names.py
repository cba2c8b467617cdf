"""An action item's owner is `owner` when it is tracked (CLI --owner, add_action_item, the SDK, an import's
action_items, the HTTP API) and `owner_role` when an analysis proposes it (record_analysis, the drafter's schema,
an import's analysis). A writer who used the other name was refused: "owner_role: Extra inputs are not permitted"
from an import, "action_items.0.owner_role: Field required; ... unexpected key" from record_analysis. Each now takes
the other name for the same field; both given, and different, is refused saying so."""

import json

import pytest
from pydantic import ValidationError

from agent_postmortem.service.draft_text import draft_problems
from agent_postmortem.store.models import ActionItemCreate, AnalysisDraft
from agent_postmortem.store.models.analysis import ProposedAction

PROPOSED = {"title": "Add a contract test for the order tool", "priority": "P1", "due_in_days": 7, "addresses": "x1y"}


def test_a_tracked_item_takes_owner_role_as_its_owner() -> None:
    assert ActionItemCreate.model_validate({"title": "Add a test", "owner_role": "sre"}).owner == "sre"
    assert ActionItemCreate.model_validate({"title": "Add a test", "owner": "sre", "owner_role": "sre"}).owner == "sre"


def test_a_proposed_item_takes_owner_as_its_owner_role() -> None:
    assert ProposedAction.model_validate({**PROPOSED, "owner": "sre"}).owner_role == "sre"
    draft = {
        "whys": [{"question": f"Why did step {n} fail?", "answer": f"Because step {n + 1} broke."} for n in range(3)],
        "root_cause": "The tool schema was wrong.",
        "contributing_factors": [],
        "action_items": [{**PROPOSED, "owner": "sre"}],
    }
    assert draft_problems(json.dumps(draft)) is None
    assert AnalysisDraft.model_validate(draft).action_items[0].owner_role == "sre"


@pytest.mark.parametrize(
    ("model", "given"),
    [(ActionItemCreate, {"title": "Add a test"}), (ProposedAction, PROPOSED)],
)
def test_both_names_with_different_owners_are_refused_saying_so(model: type, given: dict[str, object]) -> None:
    with pytest.raises(ValidationError, match="owner and owner_role name the same field: give one"):
        model.model_validate({**given, "owner": "sre", "owner_role": "platform"})


@pytest.mark.parametrize(
    ("model", "given", "field"),
    [(ActionItemCreate, {"title": "Add a test"}, "owner"), (ProposedAction, PROPOSED, "owner_role")],
)
def test_both_names_with_one_owner_in_two_spellings_are_that_owner(
    model: type, given: dict[str, object], field: str
) -> None:
    """'@sre' and 'SRE' are one owner (owner_key): an import or a record_analysis giving both was refused."""
    item = model.model_validate({**given, "owner": "@sre", "owner_role": "SRE"})
    assert getattr(item, field) == ("@sre" if field == "owner" else "SRE")
