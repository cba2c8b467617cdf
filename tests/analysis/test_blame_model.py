"""The learned blame detector: the shipped file, how it combines with the rules, its findings and rewrites."""

import dataclasses
import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from agent_postmortem.analysis.blame import detect
from agent_postmortem.analysis.blame_learned import GENERIC, learned_rewrite, sentence_spans
from agent_postmortem.analysis.blame_model import EMBEDDING_DIM, MODEL_FILE, BlameModel, feature_names, load, parse
from agent_postmortem.analysis.blameless import check_blameless
from agent_postmortem.evals.blameless import SEALED

SHIPPED = json.loads(MODEL_FILE.read_text(encoding="utf-8"))


def test_the_shipped_file_loads_with_the_bundled_embedders_dimension_and_records_its_making() -> None:
    model = load()
    assert model.weights.shape == model.mean.shape == model.scale.shape == (EMBEDDING_DIM + len(feature_names()),)
    assert 0.5 < model.threshold <= 1 and SHIPPED["decision"]["combine"] == "rules_unless_vetoed_or_model"
    assert 0 < model.veto < 0.2 and meta_vetoed_no_true_hit(SHIPPED)
    meta = SHIPPED["metadata"]
    assert meta["embedder"] == "sentence-transformers/all-MiniLM-L6-v2#onnx-int8"
    fresh = ["external_test2", "external_test3", "external_test4", "external_test5"]
    assert meta["settings"]["sets"] == ["train", "dev", "external_dev", *fresh]  # never test nor the regression set
    assert meta["settings"]["threshold_sets"] == fresh
    assert not set(SEALED) & set(meta["settings"]["sets"])  # the fresh half is never trained or tuned on
    cv, target = meta["cross_validation"], meta["settings"]["target_precision"]
    rows = cv["threshold_rows"]  # the threshold was chosen on test2 to test5, where the rules were tuned last
    assert rows["rows"] >= 420 and target == 0.9
    assert cv["criterion"] in ("model_additions", "none: the model adds nothing")
    assert rows["rules_or_model"]["precision"] >= target
    if model.threshold == 1:  # no threshold was backed by cross-validation: the model adds nothing, however sure
        assert not model.decide(1.0, rule_found=False)
    added = rows["model_additions"]  # what the model adds to the rules is itself at the target
    assert added["true"] >= target * (added["true"] + added["false"])


def meta_vetoed_no_true_hit(shipped: dict[str, Any]) -> bool:
    """The veto removed no blaming sentence the rules flag in cross-validation."""
    return bool(shipped["metadata"]["cross_validation"]["vetoed_rule_hits"]["true"] == 0)


def test_the_model_vetoes_a_rule_span_only_below_its_veto_and_only_with_an_embedder() -> None:
    text = "Dana deployed the migration without reading it. We rolled back."
    doubtful = dataclasses.replace(_model(-3.0), veto=0.1)  # p = 0.047 for every sentence
    assert check_blameless(text, embed=FakeEmbed(), model=doubtful).findings == []
    embed = FakeEmbed()
    sure = dataclasses.replace(_model(-3.0), veto=0.01)
    assert [f.rule for f in check_blameless(text, embed=embed, model=sure).findings] == ["person_as_cause"]
    assert embed.calls[0] == ["Dana deployed the migration without reading it."]  # the rule's sentence is read
    assert [f.rule for f in check_blameless(text).findings] == ["person_as_cause"]  # no embedder: the rules alone


def test_a_file_for_other_features_is_refused() -> None:
    with pytest.raises(ValueError, match="retrain"):
        parse({**SHIPPED, "features": ["cue: something else"]})


class FakeEmbed:
    """Sentences to constant vectors, recording what it was asked."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def __call__(self, texts: list[str]) -> np.ndarray:
        self.calls.append(texts)
        return np.full((len(texts), EMBEDDING_DIM), 0.05)


def _model(bias: float) -> BlameModel:
    """A model whose probability is sigmoid(bias) for every sentence."""
    n = EMBEDDING_DIM + len(feature_names())
    return BlameModel(np.zeros(n), np.ones(n), np.zeros(n), bias, (1.0, 0.0), 0.5, {})


TEXT = "The API failed to respond within 30 s. Dana deployed the migration without reading it. We rolled back."


def test_a_sentence_is_blaming_when_the_rules_find_a_span_or_the_model_passes_its_threshold() -> None:
    embed = FakeEmbed()
    confident = check_blameless(TEXT, embed=embed, model=_model(3.0)).findings
    assert [f.rule for f in confident] == ["learned", "person_as_cause", "learned"]
    first, _, last = confident
    assert (first.text, last.text) == ("The API failed to respond within 30 s.", "We rolled back.")
    assert TEXT[first.start : first.end] == first.text and first.probability == pytest.approx(0.953, abs=1e-3)
    assert embed.calls == [["The API failed to respond within 30 s."], ["We rolled back."]]  # the rules' not re-read
    unsure = check_blameless(TEXT, embed=FakeEmbed(), model=_model(-3.0)).findings
    assert [f.rule for f in unsure] == ["person_as_cause"]  # the rules' finding stands whatever the model says
    assert check_blameless(TEXT).findings == unsure  # without an embedder: the rules alone, as before


def test_a_text_the_rules_fully_cover_is_never_embedded() -> None:
    embed = FakeEmbed()
    check_blameless("Dana deployed the migration without reading it.", embed=embed, model=_model(3.0))
    assert embed.calls == []


def test_sentences_are_cut_at_stops_and_lines() -> None:
    text = "  First one. Second one!\nThird without a stop\n\n  ...  "
    assert [text[s:e] for s, e in sentence_spans(text)] == ["First one.", "Second one!", "Third without a stop"]


@pytest.mark.parametrize(
    ("sentence", "rewrite"),
    [
        ("He formatted the unmounted partitions on the staging box.",
         "The unmounted partitions were formatted on the staging box; nothing in the process stopped or caught it "
         "before it took effect."),
        ("Whoever it was, nobody could say.", GENERIC),  # nothing left to say without the person
        ("Someone — a human — gave it the keys.",
         "It was given the keys; nothing in the process stopped or caught it before it took effect."),
        ("Lee's change broke checkout for everyone.",  # the rules' possessive shape
         "A change broke checkout for everyone; no review or test caught it before it shipped."),
        ("Bob had not reinstalled the paging app on his new phone.",  # the rules' not-done shape
         "The paging app was not reinstalled on the new phone, and no step or check in the process required it."),
        ("I sat at the console, and deleted 80,000 lines of code with a single keystroke.",  # clause by clause
         "80,000 lines of code were deleted with a single keystroke; nothing in the process stopped or caught it "
         "before it took effect."),
        ("Build is broken because @alice commits landed without review.",
         "Build is broken because the commits landed without review; nothing in the process stopped or caught it "
         "before it took effect."),
        ("My instructions weren't precise enough.",
         "The instructions weren't precise enough; nothing in the process stopped or caught it before it took effect."),
        ("Regrets and apologies for the f**k up :(.",
         "The f**k up happened; nothing in the process stopped or caught it before it took effect."),
    ],
)  # fmt: skip
def test_a_learned_finding_is_rewritten_without_the_person(sentence: str, rewrite: str) -> None:
    assert learned_rewrite(sentence) == rewrite
    assert not detect(rewrite) and not re.search(r"\b(?:I|he|his|my|you|your|@\w+)\b", rewrite)


@pytest.mark.slow
def test_the_bundled_embedder_flags_a_blaming_sentence_the_rules_miss() -> None:
    from agent_postmortem.evals.blameless import bundled_embed

    sentence = (  # from the external dev half: the rules have no shape for it
        "You pasted your API key right into the prompt, and Claude Code put it right into the code."
    )
    assert check_blameless(sentence).blameless
    embed = bundled_embed()
    # The shipped model adds no sentence (threshold 1.0: none reached the target in cross-validation); at 0.75 it would.
    model = dataclasses.replace(load(), threshold=0.75)
    [finding] = check_blameless(sentence, embed=embed, model=model).findings
    assert finding.rule == "learned" and finding.text == sentence and finding.probability >= model.threshold
    assert check_blameless("The API failed to respond within 30 s.", embed=embed, model=model).blameless


@pytest.mark.slow
def test_the_training_script_reproduces_the_shipped_file(tmp_path: Path) -> None:
    pytest.importorskip("sklearn")
    from agent_postmortem.evals.train_blame import differences, train

    settings = SHIPPED["metadata"]["settings"]
    assert differences(SHIPPED, train([(settings["C"], settings["embedding_weight"])])) == []


def test_only_the_bundled_models_vectors_reach_the_model() -> None:
    from agent_postmortem.analysis.blame_model import embed_for
    from agent_postmortem.store.search.embedding import HashEmbedder
    from agent_postmortem.store.search.onnx_embedding import INT8_MODEL_ID

    assert embed_for(None) is None and embed_for(HashEmbedder()) is None  # a stand-in's vectors mean nothing to it
    calls: list[tuple[list[str], str]] = []

    class Bundled:
        model_id, dimension = INT8_MODEL_ID, EMBEDDING_DIM

        def embed(self, texts: list[str], *, kind: str) -> np.ndarray:
            calls.append((texts, kind))
            return np.zeros((len(texts), EMBEDDING_DIM))

    embed = embed_for(Bundled())  # type: ignore[arg-type]
    assert embed is not None and embed(["a"]).shape == (1, EMBEDDING_DIM) and calls == [(["a"], "document")]
