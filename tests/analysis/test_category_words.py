"""The words group of the category classifier: what a term is, and that the product's numpy tf-idf is the one the
trainer's scikit-learn would give."""

import numpy as np
import pytest

from agent_postmortem.analysis.category_words import Words, capture_text, terms
from agent_postmortem.store.models import IncidentCreate

TEXTS = [
    "ConnectionRefusedError: [Errno 111] Connection refused",
    "refusing to continue: migration dropped column customer_email",
    "The refund of 900 EUR is over the 500 EUR policy limit; policy limit reached",
    "a discount over the policy limit was granted",
    "429 Too Many Requests from api.openai.com, retry after 20s",
    "the model refused: I'm sorry, I can't help with that",
    "dropped column customer_email again after the migration",
]


def test_a_term_is_a_lower_cased_word_of_two_or_more_characters_or_a_pair_of_them() -> None:
    assert terms("Errno 111: a api.openai.com Retry") == [
        "errno", "111", "api.openai.com", "retry", "errno 111", "111 api.openai.com", "api.openai.com retry",
    ]  # fmt: skip


def test_the_rows_are_scikit_learns_sublinear_tf_idf_over_the_same_vocabulary() -> None:
    from sklearn.feature_extraction.text import TfidfVectorizer

    words = Words.fit(TEXTS, min_df=2, weight=30.0)
    reference = TfidfVectorizer(min_df=2, ngram_range=(1, 2), sublinear_tf=True, token_pattern=r"\b\w[\w.]+\b")
    expected = reference.fit_transform(TEXTS).toarray()
    assert list(words.terms) == list(reference.get_feature_names_out())
    assert np.allclose(words.matrix(TEXTS), expected)
    assert "policy limit" in words.terms and "column customer_email" in words.terms  # pairs seen twice are kept


def test_a_text_with_no_known_term_reads_as_zeros_and_the_file_form_round_trips() -> None:
    words = Words.fit(TEXTS, min_df=2, weight=30.0)
    assert not words.row("zzz qqq").any()
    again = Words.from_json(words.to_json(7))
    assert again.terms == words.terms and again.weight == 30.0
    assert np.allclose(again.row(TEXTS[1]), words.row(TEXTS[1]), atol=1e-6)


@pytest.mark.parametrize("field", ["title", "description", "error_type", "error_message"])
def test_the_words_are_read_from_the_reports_text_fields(field: str) -> None:
    capture = IncidentCreate.model_validate({"title": "Agent failed", field: "Errno 111 connection refused"})
    assert "refused" in capture_text(capture)
    assert "Errno" not in capture_text(IncidentCreate(title="Agent failed", tool="Errno 111"))


def test_the_trainer_weights_the_words_and_standardises_only_the_rest() -> None:
    pytest.importorskip("sklearn")
    from agent_postmortem.evals.category_fit import scaling

    words = Words.fit(TEXTS, min_df=2, weight=30.0)
    rng = np.random.default_rng(1)
    dense = rng.normal(5.0, 3.0, size=(len(TEXTS), 4))
    x = np.hstack([dense, words.matrix(TEXTS)])
    scaled = scaling(x, words).transform(x)
    assert np.allclose(scaled[:, 4:], 30.0 * words.matrix(TEXTS))
    assert np.allclose(scaled[:, :4].mean(axis=0), 0.0) and np.allclose(scaled[:, :4].std(axis=0), 1.0)
    assert np.allclose(scaling(dense).transform(dense), scaled[:, :4])  # without words: every column standardised
