"""Every scorer passes a known-good draft and fails a known-bad one (the real embedding model for similarity)."""

from collections.abc import Callable

import pytest

from agent_postmortem.cli.demo import SEED
from agent_postmortem.evals.cases import load_case
from agent_postmortem.evals.drafts import GENERIC, reference_draft
from agent_postmortem.evals.runner import cosine_similarity
from agent_postmortem.evals.scorers import (
    action_recall,
    actions_specific,
    attribution,
    blameless,
    expectations,
    grounding,
    model_behavior,
    root_cause_agreement,
    whys_depth,
)
from agent_postmortem.store.models import Analysis, AnalysisDraft, DraftWhy
from agent_postmortem.store.search.embedding import Embedder
from tests.factories import FIXED_NOW

pytestmark = pytest.mark.slow
CASES = SEED.parent.parent.parent / "evals" / "cases"
CASE = load_case(CASES / "01_harbor").case
TRACE = load_case(CASES / "50_flint").case


def stored(draft: AnalysisDraft, **changes: object) -> Analysis:
    analysis = Analysis(**draft.model_dump(), generated_by="test", created_at=FIXED_NOW)
    return analysis.model_copy(update=changes)


GOOD = stored(reference_draft(CASE))
BAD = stored(GENERIC)


@pytest.fixture(scope="module")
def sim(embedder: Embedder) -> Callable[[list[str], list[str]], list[list[float]]]:
    return cosine_similarity(embedder)


def test_root_cause_agreement(sim) -> None:  # type: ignore[no-untyped-def]
    assert root_cause_agreement(GOOD, CASE, sim).passed
    bad = root_cause_agreement(BAD, CASE, sim)
    assert bad.passed is False and bad.value is not None and bad.value < 0.4


def test_action_recall(sim) -> None:  # type: ignore[no-untyped-def]
    assert action_recall(GOOD, CASE, sim).value == 1.0
    assert action_recall(BAD, CASE, sim).passed is False
    assert action_recall(GOOD, TRACE, sim).passed is None  # traces have no reference items


def test_whys_depth(sim) -> None:  # type: ignore[no-untyped-def]
    deep = stored(GENERIC)
    assert whys_depth(deep, CASE, sim).passed
    same = [DraftWhy(question="Why?", answer="The invoice total had no VAT line in it.")] * 3
    shallow = whys_depth(stored(GENERIC, whys=same), CASE, sim)
    assert shallow.passed is False and "restates" in shallow.reason
    blaming = [*GENERIC.whys[:2], DraftWhy(question="Why?", answer="The engineer forgot to add the field.")]
    assert whys_depth(stored(GENERIC, whys=blaming), CASE, sim).passed is False


def test_actions_specific(sim) -> None:  # type: ignore[no-untyped-def]
    assert actions_specific(GOOD, CASE, sim).passed
    vague = GENERIC.action_items[0].model_copy(update={"title": "Be more careful next time", "addresses": "morale"})
    result = actions_specific(stored(GENERIC, action_items=[vague]), CASE, sim)
    assert result.passed is False and "checkable" in result.reason and "no cause" in result.reason


def test_grounding(sim) -> None:  # type: ignore[no-untyped-def]
    assert grounding(GOOD, CASE, sim).passed
    invented = stored(GENERIC, root_cause="The payments.refund_v2 job retried 4812 times.")
    result = grounding(invented, CASE, sim)
    assert result.passed is False and "payments.refund_v2" in result.reason
    assert grounding(stored(GENERIC, removed_citations=["INC-9"]), CASE, sim).passed is False


def test_blameless_and_expectations(sim) -> None:  # type: ignore[no-untyped-def]
    assert blameless(GOOD, CASE, sim).passed and expectations(GOOD, CASE, sim).passed
    blaming = stored(GENERIC, root_cause="Human error: the engineer should have read the invoice tax field.")
    assert blameless(blaming, CASE, sim).passed is False
    result = expectations(blaming, CASE, sim)
    assert result.passed is False and "human error" in result.reason and "total" in result.reason


def test_model_behavior_applies_to_model_failures_only(sim) -> None:  # type: ignore[no-untyped-def]
    assert model_behavior(BAD, CASE, sim).passed is None  # business logic: not a model failure
    llm_case = CASE.model_copy(update={"incident": CASE.incident.model_copy(update={"category": "llm_refusal"})})
    assert model_behavior(BAD, llm_case, sim).passed is False
    described = stored(GENERIC, model_behavior="The model refused a permitted refund request twice.")
    assert model_behavior(described, llm_case, sim).passed


def test_attribution_on_a_trace(sim) -> None:  # type: ignore[no-untyped-def]
    right = attribution(stored(reference_draft(TRACE)), TRACE, sim)
    assert right.passed and right.value == 1.0
    wrong = attribution(stored(GENERIC, responsible="Orchestrator-Nobody", decisive_step=99), TRACE, sim)
    assert wrong.passed is False and wrong.value == 0.0
    assert attribution(GOOD, CASE, sim).passed is None
