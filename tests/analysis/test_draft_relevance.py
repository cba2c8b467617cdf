"""The draft guard's relevance check with the incident's neighbours in the store: an analysis that reads as one of a
neighbour's is refused, naming it, while every incident's own analysis still passes (recurrences included)."""

from datetime import UTC, datetime

import pytest

from agent_postmortem.analysis.draft_guard import check_draft
from agent_postmortem.analysis.draft_relevance import unrelated
from agent_postmortem.cli.demo import SEED
from agent_postmortem.evals.cases import load_cases
from agent_postmortem.evals.guard import cosine_of
from agent_postmortem.evals.guard_relevance import Pair, case_pairs, nearest, neighbours_of, seed_pairs
from agent_postmortem.store.models import Incident
from agent_postmortem.store.search.embedding import Embedder
from tests.analyses import DOUBLE_CHARGES, GATEWAY_DOUBLE_CHARGES, GATEWAY_TIMEOUTS, TIMEOUTS
from tests.factories import FARES_429, draft

RETOLD = (
    " The trip planner had no backoff and no jitter, so the synchronised bursts kept the shared fares quota "
    "exhausted for an hour; the client library retried forever by default."
)


def stored(number: int, category: str, fields: dict[str, str]) -> Incident:
    return Incident(
        id=f"INC-{number}", category=category, severity="SEV2", triage="full", created_at=datetime.now(UTC), **fields
    )  # type: ignore[arg-type]


def test_an_analysis_of_a_sibling_incident_is_refused_though_its_meaning_is_close(embedder: Embedder) -> None:
    """Two incidents of one checkout gateway: the timeouts' analysis recorded against the double charges passed, its
    cosine with them well over the bar (the gateway, Stripe, card authorisations are in both). With the incident's
    neighbours, it shares more of the timeouts' own words than of the double charges', and is refused."""
    timeouts, charges = stored(1, "timeout", GATEWAY_TIMEOUTS), stored(2, "business_logic", GATEWAY_DOUBLE_CHARGES)
    similarity = cosine_of(embedder)
    assert unrelated(TIMEOUTS, charges, similarity) == []  # by meaning and shared words alone, it passes
    [problem] = unrelated(TIMEOUTS, charges, similarity, [timeouts])
    assert problem.startswith("the analysis reads as one of INC-1 ('Checkout payments gateway timed out"), problem
    assert "not of INC-2" in problem and "Was it written for INC-1?" in problem
    assert "relevant" not in check_draft(DOUBLE_CHARGES, timeouts, similarity, [charges]).passed
    assert "relevant" not in check_draft(TIMEOUTS, charges, None, [timeouts]).passed  # no embedder: not run
    for analysis, own, other in ((TIMEOUTS, timeouts, charges), (DOUBLE_CHARGES, charges, timeouts)):
        assert "relevant" in check_draft(analysis, own, similarity, [other]).passed


def _sets() -> list[tuple[str, list[Pair]]]:
    return [("eval cases", case_pairs(load_cases())), ("seed knowledge base", seed_pairs(SEED))]


@pytest.mark.parametrize(("name", "pairs"), _sets())
def test_every_analysis_passes_against_its_own_incident_with_its_nearest_incidents_as_neighbours(
    embedder: Embedder, name: str, pairs: list[Pair]
) -> None:
    """The seed knowledge base holds recurrences ("DataPilot month-end timeouts recurred"), whose analyses share
    most words with the first incident: none may read as the other's."""
    similarity = cosine_of(embedder)
    incidents = [i for _, _, i in pairs]
    ranked = nearest(incidents, similarity)
    refused = {n: unrelated(d, i, similarity, neighbours_of(incidents, ranked, k)) for k, (n, d, i) in enumerate(pairs)}
    assert len(pairs) >= 45 and {n: r for n, r in refused.items() if r} == {}


@pytest.mark.parametrize(("name", "pairs"), _sets())
def test_the_nearest_incidents_analysis_moved_onto_an_incident_is_refused_with_its_neighbours(
    embedder: Embedder, name: str, pairs: list[Pair]
) -> None:
    """Each incident given the analysis of the incident nearest it: by meaning and shared words alone most were
    accepted (sibling incidents of one infrastructure); with the neighbours, at most one in ten is."""
    similarity = cosine_of(embedder)
    incidents = [i for _, _, i in pairs]
    ranked = nearest(incidents, similarity)
    moved = [(ranked[b][0], b) for b in range(len(pairs))]
    alone = sum(not unrelated(pairs[a][1], incidents[b], similarity) for a, b in moved)
    near = sum(
        not unrelated(pairs[a][1], incidents[b], similarity, neighbours_of(incidents, ranked, b)) for a, b in moved
    )
    assert alone > len(moved) / 2 and near <= len(moved) / 10, (alone, near)


def test_a_terse_captures_own_analysis_is_not_outweighed_by_a_neighbour_that_says_more(embedder: Embedder) -> None:
    """A capture that names little (a title, an error type) next to a similar incident told at length: the draft
    of the capture draws on what the neighbour says (the prompt shows it), and was refused as the neighbour's for
    sharing more of its many words. What counts is the share of each incident's own words."""
    terse = stored(2, "rate_limit", {"title": "Fares API answered 429", "error_type": "RateLimitError"})
    told = stored(1, "rate_limit", {**FARES_429, "description": FARES_429["description"] + RETOLD})
    similarity = cosine_of(embedder)
    assert unrelated(draft(), told, similarity, [terse]) == []
    assert unrelated(draft(), terse, similarity, [told]) == []


def test_redaction_placeholders_are_no_words_an_analysis_shares_with_a_neighbour(embedder: Embedder) -> None:
    """As found over MCP: an analysis whose root cause named the key that was rotated (redacted on the way in) was
    refused as one of another incident whose title had held a key and a password: `[REDACTED:openai_key]` and
    `[REDACTED:password_pair]` were counted as specific words the two shared. The placeholders are the server's, not
    words of either incident."""
    own = stored(2, "rate_limit", {"title": "Refund agent hit rate limit", "error_message": "429 Too Many Requests"})
    secrets = "[REDACTED:openai_key] and password=[REDACTED:password_pair]"
    leak = stored(1, "prompt_injection", {"title": f"Planner agent leaked {secrets}"})
    named = draft().model_copy(update={"root_cause": f"The key was rotated without notice: {secrets}"})
    assert unrelated(named, own, cosine_of(embedder), [leak]) == []
