"""The draft guard: each check refuses the junk it names and lets every reference analysis of the eval cases pass."""

from datetime import UTC, datetime

import pytest

from agent_postmortem.analysis.draft_guard import CHECKS, check_draft, guard_problems
from agent_postmortem.evals.cases import Case, load_cases
from agent_postmortem.evals.drafts import incident_of as stored_incident_of
from agent_postmortem.evals.drafts import reference_draft
from agent_postmortem.evals.guard import cosine_of
from agent_postmortem.store.models import AnalysisDraft, DraftWhy, Incident
from agent_postmortem.store.search.embedding import Embedder
from tests.factories import CAPTURE, draft


def incident_of(case: Case | None = None) -> Incident:
    if case is None:
        return Incident(
            id="INC-1", category="rate_limit", severity="SEV3", triage="full", created_at=datetime.now(UTC), **CAPTURE
        )  # type: ignore[arg-type]
    return stored_incident_of(case)


def test_no_reference_analysis_of_the_eval_cases_is_refused() -> None:
    cases = load_cases()
    refused = {c.name: guard_problems(reference_draft(c.case), incident_of(c.case)) for c in cases}
    assert len(cases) >= 59 and {k: v for k, v in refused.items() if v} == {}


def test_a_good_draft_passes_every_check(embedder: Embedder) -> None:
    verdict = check_draft(draft(), incident_of(), cosine_of(embedder))
    assert verdict.problems == [] and verdict.passed == list(CHECKS)
    assert check_draft(draft(), incident_of()).passed == [c for c in CHECKS if c != "relevant"]  # no embedder given


def changed(**update: object) -> list[str]:
    return guard_problems(draft().model_copy(update=update), incident_of())


def test_template_slots_are_refused_but_angle_brackets_from_the_incident_or_code_are_not() -> None:
    assert "template placeholder (<Title of Incident>)" in changed(root_cause="<Title of Incident> on the fares API")[0]
    assert "template placeholder ([insert cause here])" in changed(root_cause="[insert cause here] on the fares API")[0]
    assert changed(root_cause="The fares API client kept a List<Request> of retries with no budget") == []


def test_a_tbd_inside_a_real_sentence_is_no_placeholder_but_one_standing_for_the_content_is() -> None:
    """A human's item "... (What 'high' is TBD)" was refused as a template placeholder."""
    item = draft().action_items[0]
    real = item.model_copy(update={"title": "Alert on a high fares API 429 rate (What 'high' is TBD)"})
    assert changed(action_items=[real]) == []
    assert changed(root_cause="TBD")[0].startswith("the root cause holds a template placeholder (TBD)")
    assert "template placeholder (TODO)" in changed(root_cause="Root cause: TODO")[0]
    assert "template placeholder (Lorem ipsum)" in changed(root_cause="Lorem ipsum dolor sit amet, fares API")[0]


def test_a_tag_named_in_a_sentence_is_no_placeholder_and_a_refused_one_suggests_backticks() -> None:
    """ "the <think> block leaked into the answer" and "set <max_tokens>" were refused as template placeholders, and
    the refusal said only "write the actual content"."""
    leaked = "The fares API client let the <think> block leak into the answer, with no budget on its retries."
    assert changed(root_cause=leaked) == []
    item = draft().action_items[0].model_copy(update={"title": "Set <max_tokens> on every fares API retry call"})
    assert changed(action_items=[item]) == []
    for slot in ("<root cause here>", "<describe the fix>", "<Title>"):
        [found] = changed(root_cause=f"{slot} on the fares API client retries")
        assert f"template placeholder ({slot})" in found and f"backticks: `{slot}`" in found, found


def test_the_refusal_lists_places_in_grammatical_english() -> None:
    """ "why 1, … and 1 more holds": the places and the verb now agree in number."""
    why = DraftWhy(question="Why?", answer="<Title of Incident>")
    whys = [why.model_copy(update={"question": f"Why {n}?"}) for n in range(1, 6)]
    assert changed(whys=whys[:1])[0].startswith("why 1 holds a template placeholder")
    assert changed(whys=whys[:2])[0].startswith("why 1 and why 2 hold a template placeholder")
    five = changed(whys=whys)[0]
    assert five.startswith("why 1, why 2, why 3, why 4 and why 5 hold a template placeholder"), five
    six = changed(whys=[*whys, why.model_copy(update={"question": "Why 6?"})])[0]
    assert six.startswith("why 1, why 2, why 3, why 4 and 2 more hold a template placeholder"), six


def test_whys_that_repeat_each_other_are_refused() -> None:
    same = DraftWhy(question="Why did the fares API fail?", answer="The fares API answered 429 to every retry.")
    assert changed(whys=[same, draft().whys[1], same]) == [
        "why 3 repeats why 1: each why must ask about the answer before it"
    ]


def test_a_root_cause_sharing_nothing_with_the_incident_is_refused() -> None:
    assert changed(root_cause=".0123456789 and so forth") == [
        "the root cause shares no word with the incident or the whys: name what in this incident went wrong"
    ]


def test_identical_and_unrelated_action_items_are_refused() -> None:
    item = draft().action_items[0]
    discount = item.model_copy(update={"title": "Take 5% off every order for next quarter"})
    found = changed(action_items=[item, item, discount])
    assert found == [
        "action item 3: nothing to do with the incident or its cause; propose a fix for it",
        "action items 1 and 2 are the same: propose distinct actions",
    ]


def test_a_root_cause_that_blames_a_person_is_refused() -> None:
    found = changed(root_cause="The on-call engineer forgot to set a retry budget on the fares API client.")
    assert len(found) == 1 and found[0].startswith("the root cause blames a person")


def test_a_copy_of_the_prompts_example_is_refused() -> None:
    example = "Tool schemas shipped without contract tests, so the agent could call the order tool without an order id."
    assert "copies the prompt's example" in changed(root_cause=example)[0]


@pytest.mark.parametrize("field", ["hypotheses", "chosen_because"])
def test_drafts_written_before_hypotheses_still_load(field: str) -> None:
    old = draft().model_dump()
    del old[field]
    assert AnalysisDraft.model_validate(old).hypotheses == []


def test_a_blaming_root_cause_is_quoted_back_without_a_secret_it_holds() -> None:
    """The refusal quotes the blaming words and a rewrite of the sentence: a token in that sentence went back with
    them to the model, the assistant and the CLI's error."""
    token = "ghp_" + "Zq8" * 12
    root_cause = f"Dana carelessly pasted {token} into the agent's prompt, so the token reached the model."
    said = " ".join(changed(root_cause=root_cause))
    assert "blames a person" in said and "Zq8Zq8" not in said, said
