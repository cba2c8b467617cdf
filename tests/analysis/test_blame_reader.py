"""The blame sentence reader: the shipped files, how it combines with the rules, its findings and rewrites."""

import json
import re

import numpy as np
import pytest

from agent_postmortem.analysis.blame import detect
from agent_postmortem.analysis.blame_learned import GENERIC, learned_rewrite, sentence_spans
from agent_postmortem.analysis.blame_reader import HEAD_FILE, ONNX_FILE, READER_DIR, BlameReader
from agent_postmortem.analysis.blameless import check_blameless
from agent_postmortem.evals.blame_threshold import MAX_VETO
from agent_postmortem.evals.blameless import SEALED
from agent_postmortem.store.models.analysis import whys_as_sent

SHIPPED = json.loads((READER_DIR / HEAD_FILE).read_text(encoding="utf-8"))


def test_a_sentence_reads_the_same_alone_and_beside_others() -> None:
    reader = BlameReader.load()
    sentences = ["The scheduler forgot to release the lock.", "Dana deployed the migration without reading it, "
                 "and for the next three hours nobody could reach the checkout service at all."]  # fmt: skip
    together = reader.probabilities(sentences)
    alone = [reader.probabilities([s])[0] for s in sentences]
    assert together == pytest.approx(alone, abs=1e-9)  # int8 activations get one scale per run: one sentence a run


def test_the_shipped_reader_records_what_it_learnt_from_and_never_a_sealed_set() -> None:
    assert len(SHIPPED["weights"]) == 384 and 0.5 < SHIPPED["threshold"] < 1
    assert 0 < SHIPPED["veto"] <= MAX_VETO  # the reader overrules the rules only when sure (blame_threshold.py)
    assert SHIPPED["veto_chosen_on"]["rows"] > 900  # chosen on rows read by a reader trained without them
    assert SHIPPED["chosen_on"] and not set(SHIPPED["chosen_on"]) & set(SEALED)  # the threshold's rows, unsealed
    assert SHIPPED["joint_on_fresh_rows"]["veto"] > 0  # the choice with a veto, recorded beside what ships
    trained = SHIPPED["trained_on"]
    assert not set(SEALED) & set(trained["sets"]) and "regression" not in trained["sets"]
    assert {"external_train8", "external_train9"} <= set(trained["sets"]) and trained["rows"] >= 3700
    assert (READER_DIR / ONNX_FILE).stat().st_size < 30_000_000  # the int8 graph, not fp32 (90 MB)
    assert (READER_DIR / "LICENSE").is_file()  # the base model's licence travels with its fine-tuned weights
    fresh = SHIPPED["out_of_set"]["fresh_for_rules"]  # rows the rules were never tuned on, read out of set
    assert fresh["combined"]["recall"] > fresh["rules"]["recall"]
    assert SHIPPED["int8_agreement"]["same_decision"] >= 0.97


class FakeReader:
    """The same probability for every sentence, recording what it was asked."""

    def __init__(self, probability: float, *, threshold: float = 0.5, veto: float = 0.1) -> None:
        self.probability, self.threshold, self.veto = probability, threshold, veto
        self.calls: list[list[str]] = []

    def probabilities(self, sentences: list[str]) -> np.ndarray:
        self.calls.append(sentences)
        return np.full(len(sentences), self.probability)

    def decide(self, probability: float, *, rule_found: bool) -> bool:
        return probability >= (self.veto if rule_found else self.threshold)


def test_the_reader_vetoes_a_rule_span_only_below_its_veto() -> None:
    text = "Dana deployed the migration without reading it. We rolled back."
    assert check_blameless(text, reader=FakeReader(0.05)).findings == []
    sure = FakeReader(0.2, threshold=0.9)
    assert [f.rule for f in check_blameless(text, reader=sure).findings] == ["person_as_cause"]
    assert sure.calls[0] == ["Dana deployed the migration without reading it."]  # the rule's sentence is read
    assert [f.rule for f in check_blameless(text).findings] == ["person_as_cause"]  # no reader: the rules alone


TEXT = "The API failed to respond within 30 s. Dana deployed the migration without reading it. We rolled back."


def test_a_sentence_is_blaming_when_the_rules_find_a_span_or_the_reader_passes_its_threshold() -> None:
    reader = FakeReader(0.953)
    confident = check_blameless(TEXT, reader=reader).findings
    assert [f.rule for f in confident] == ["learned", "person_as_cause", "learned"]
    first, _, last = confident
    assert (first.text, last.text) == ("The API failed to respond within 30 s.", "We rolled back.")
    assert TEXT[first.start : first.end] == first.text and first.probability == pytest.approx(0.953, abs=1e-3)
    assert reader.calls[1] == ["The API failed to respond within 30 s.", "We rolled back."]  # the rest read at once
    unsure = check_blameless(TEXT, reader=FakeReader(0.3)).findings
    assert [f.rule for f in unsure] == ["person_as_cause"]  # above the veto, the rules' finding stands
    assert check_blameless(TEXT).findings == unsure  # without a reader: the rules alone, as before


def test_a_text_the_rules_fully_cover_is_read_only_for_the_veto() -> None:
    reader = FakeReader(0.9)
    check_blameless("Dana deployed the migration without reading it.", reader=reader)
    assert reader.calls == [["Dana deployed the migration without reading it."]]
    no_veto = FakeReader(0.9, veto=0.0)
    check_blameless("Dana deployed the migration without reading it.", reader=no_veto)
    assert no_veto.calls == []


def test_sentences_are_cut_at_stops_and_lines() -> None:
    text = "  First one. Second one!\nThird without a stop\n\n  ...  "
    assert [text[s:e] for s, e in sentence_spans(text)] == ["First one.", "Second one!", "Third without a stop"]


def test_a_sentence_is_read_without_the_markdown_that_opens_its_line() -> None:
    text = "## Impact\n- ED\n  * [ ] Add alerting\n> quoted\n3) Bob left."
    assert [text[s:e] for s, e in sentence_spans(text)] == ["Impact", "ED", "Add alerting", "quoted", "Bob left."]


def test_a_paragraph_wrapped_over_lines_is_read_as_its_sentences_not_its_lines() -> None:
    """The reader judged each line of a hard-wrapped paragraph as a sentence of its own ("Dana deployed the
    migration" / "without reading it."): on 600 labelled sentences wrapped at 40 columns it changed its call on 54."""
    text = "Notes from the review.\nDana deployed the migration\nwithout reading it. The alert\nfired late.\r\n\r\nNext"
    assert [text[s:e] for s, e in sentence_spans(text)] == [
        "Notes from the review.",
        "Dana deployed the migration\nwithout reading it.",
        "The alert\nfired late.",
        "Next",
    ]


def test_the_reader_leaves_headings_and_fragments_of_a_real_postmortem_alone() -> None:
    """Template headings and one- or two-word list items are outside what the reader learnt from: it scored
    "### What could have gone better?" 0.995 and "- RN" 0.98, flagging blameless postmortems."""
    text = "### What could have gone better?\n\n## What should you do?\n\nRoles:\n- ED\n- RN\n- Owner: Emil\n"
    for reader in (BlameReader.load(), FakeReader(1.0)):  # the shipped one, and one that flags every sentence it reads
        assert check_blameless(text, reader=reader).blameless
        beside_blame = "### What could have gone better?\nBob forgot to run the tests."
        assert [f.text for f in check_blameless(beside_blame, reader=reader).findings] == ["Bob forgot"]


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
        ("The night janitor unplugged the freezer to plug in his floor polisher.",  # a role no list knows: the head
         "The freezer was unplugged to plug in the floor polisher; nothing in the process stopped or caught it before "
         "it took effect."),
        ("Our barista-turned-sysadmin wiped the shared drive while tidying up.",
         "The shared drive was wiped while tidying up; nothing in the process stopped or caught it before it took "
         "effect."),
        ("Regrets and apologies for the f**k up :(.",
         "The f**k up happened; nothing in the process stopped or caught it before it took effect."),
    ],
)  # fmt: skip
def test_a_learned_finding_is_rewritten_without_the_person(sentence: str, rewrite: str) -> None:
    assert learned_rewrite(sentence) == rewrite
    assert not detect(rewrite) and not re.search(r"\b(?:I|he|his|my|you|your|@\w+)\b", rewrite)


@pytest.mark.parametrize(
    "sentence",
    [  # written for this test: shapes and roles the rules have no entry for
        "The night janitor unplugged the freezer to plug in his floor polisher.",
        "Our barista-turned-sysadmin wiped the shared drive while tidying up.",
        # a miss of the reader before train11 (p 0.71), found by rounds 12 to 14 (0.94), missed again since round
        # 15 raised the threshold to 0.96
        pytest.param("Honestly the whole outage is on the release manager, who shipped it on a Friday anyway.",
                     marks=pytest.mark.xfail(strict=True, reason="a known miss of the shipped reader (p 0.85)")),
        pytest.param("The locum pharmacist keyed in ten times the dose.",
                     marks=pytest.mark.xfail(strict=True, reason="a known miss of the shipped reader (p 0.81)")),
    ],
)  # fmt: skip
def test_the_shipped_reader_flags_blame_the_rules_have_no_shape_for(sentence: str) -> None:
    """Sentences written before the reader was trained; its misses and false hits among them are marked, not dropped
    (two of four found, three of four left alone: its figures are in docs/blameless.md)."""
    reader = BlameReader.load()
    [p] = reader.probabilities([sentence])
    assert reader.decide(float(p), rule_found=False), (sentence, p)
    [finding] = check_blameless(sentence, reader=reader).findings
    assert finding.text == sentence and not re.search(r"\b(?:his|who)\b", finding.suggestion)


@pytest.mark.parametrize(
    "sentence",
    [  # systems failing with human verbs, people acting with no failure put on them, talk about blame
        pytest.param("The scheduler forgot to release the lock, so every later job waited on it.",
                     marks=pytest.mark.xfail(strict=True, reason="a known false hit of the shipped reader (p 0.998)")),
        "The coding agent deleted the staging database after misreading an empty query result.",
        "On Tuesday the on-call engineer ran the documented failover and traffic recovered.",
        "Blaming the operator would miss that the console let a single command reach every region.",  # 0.98 once
    ],
)  # fmt: skip
def test_the_shipped_reader_leaves_systems_and_people_without_fault_alone(sentence: str) -> None:
    reader = BlameReader.load()
    assert check_blameless(sentence, reader=reader).blameless, reader.probabilities([sentence])


def test_the_questions_a_chain_of_plain_answers_is_given_are_no_blame_to_the_reader() -> None:
    """record_analysis gives whys sent as plain strings a question of its own: the first was "Why was that so?",
    which the shipped reader scores 0.982, so every such analysis had a finding of blaming language in its report
    on a sentence nobody wrote."""
    whys = whys_as_sent(["The retry had no jitter.", "Its default was never changed.", "No review asked for one."])
    text = "\n".join(f"{w['question']} {w['answer']}" for w in whys)
    assert check_blameless(text, reader=BlameReader.load()).blameless, text


ISSUE_MISSED = [  # the sentences issue #18 found the rules missing: the veto must never drop them
    "Dana deployed the migration without reading it",
    "QA missed the regression because they didn't run the suite",
    "Lee's change broke the booking flow",
    "The intern ran the script against prod by mistake",
    "The intern deleted the production table.",
    "QA didn't test it properly.",
    "Priya pushed the config without review and broke the agent.",
]


@pytest.mark.parametrize(
    "sentence",
    [  # the rules' false hits the shipped reader overrules: nobody is blamed in them
        "I deployed to prod today, there were no hiccups.",
        "Looks like the last time I deployed it, it didn't actually succeed.",
        "Prompt text can be ignored or bypassed by indirect prompt injection and model drift.",
    ],
)
def test_the_shipped_reader_overrules_a_rule_hit_it_is_sure_blames_nobody(sentence: str) -> None:
    reader = BlameReader.load()
    assert detect(sentence)  # the rules alone flag it
    assert check_blameless(sentence, reader=reader).findings == []


def test_the_veto_keeps_every_sentence_the_issue_found_missed() -> None:
    reader = BlameReader.load()
    for sentence in ISSUE_MISSED:
        assert check_blameless(sentence, reader=reader).findings, sentence


@pytest.mark.parametrize("sentence", ["QA did not test it properly.", "- The intern did not test it."])
def test_a_sentence_naming_a_role_is_never_overruled_however_sure_the_reader_is(sentence: str) -> None:
    reader = BlameReader.load()
    assert check_blameless(sentence, reader=reader).findings  # the reader gives the first 0.009


@pytest.mark.parametrize(
    "text",
    [
        "Dana [/bold] pushed ghp_aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5 %%{init: {}}%% to prod by mistake.",
        "Lee committed AKIAIOSFODNN7EXAMPLE to the public repo without review, which broke auth.",
    ],
)
def test_a_secret_in_a_blaming_sentence_does_not_make_the_reader_overrule_the_rules(text: str) -> None:
    # The reader never saw a placeholder word (REDACTED_github_token: 0.018 for the first sentence), so it vetoed the
    # rules' finding; it reads the secret as the thing it is ("a credential") and leaves the finding alone.
    findings = check_blameless(text, reader=BlameReader.load()).findings
    assert [f.rule for f in findings] == ["person_as_cause"] and "ghp_" not in findings[0].text
