"""Hybrid ranking's arithmetic: z-scores over the pool, and a pool that cannot tell its candidates apart (one
candidate, or all equal) measured against a candidate that matches nothing, so a lone match is not scored 0."""

import json
from pathlib import Path

import numpy as np
import pytest

from agent_postmortem.store.search.fusion import z_scores
from tests.processes import postmortem


def test_a_pool_with_a_spread_is_z_normalised() -> None:
    assert z_scores(np.array([1.0, 3.0])) == pytest.approx([-1.0, 1.0])


def test_a_lone_match_stands_one_above_a_candidate_that_matches_nothing() -> None:
    assert z_scores(np.array([0.68])) == pytest.approx([1.0])
    assert z_scores(np.array([4.2])) == pytest.approx([1.0])  # a BM25 score: the scale does not matter


def test_equal_matches_score_alike_and_above_nothing() -> None:
    got = z_scores(np.array([0.5, 0.5, 0.5, 0.5]))
    assert got == pytest.approx([0.5] * 4)  # 1/sqrt(4)


def test_no_evidence_stays_zero_and_a_negative_cosine_below() -> None:
    assert z_scores(np.array([0.0, 0.0])) == pytest.approx([0.0, 0.0])
    assert z_scores(np.array([-0.1])) == pytest.approx([-1.0])


def test_a_search_with_a_single_hit_gives_it_a_relevance(tmp_path: Path) -> None:
    """Through the CLI: one incident in the knowledge base, found by meaning and by a shared word."""
    home = tmp_path / "home"
    captured = postmortem(
        "capture", "--title", "Fares API returned 429 Too Many Requests", "--error-type", "RateLimitError", home=home
    )
    assert captured.returncode == 0, captured.stderr.decode()
    found = postmortem("search", "rate limited by the fares provider", "--json", home=home)
    assert found.returncode == 0, found.stderr.decode()
    (hit,) = json.loads(found.stdout)["hits"]
    assert hit["score"] > 0 and hit["lexical_score"] > 0
    assert hit["relevance"] == pytest.approx(1.0)  # 0.7 * 1 (meaning) + 0.3 * 1 (words)
