"""Blameless-language rewrites: a blaming sentence becomes one about what happened, from its own words and without
the person, past asides, adverbs, reflexive pronouns and the shapes found on external text."""

import pytest

from agent_postmortem.analysis.blameless import check_blameless


@pytest.mark.parametrize(
    ("sentence", "rewrite"),
    [
        ("A tired engineer, working late, ran the cleanup script on the wrong server.",
         "The cleanup script was run on the wrong server; nothing in the process stopped or caught it before it took "
         "effect."),
        ("Developer accidentally commits a token to the repo.",
         "A token was committed to the repo; nothing in the process stopped or caught it before it took effect."),
        ("Sorry I broke staging while rebasing.",
         "Staging was broken while rebasing; nothing in the process stopped or caught it before it took effect."),
        ("The fix cost a day that would not have been lost if Sam had read the runbook.",
         "The fix cost a day that would not have been lost; no step or check in the process prevented it."),
    ],
)  # fmt: skip
def test_rewrites_stay_sentences_past_asides_adverbs_and_present_tense(sentence: str, rewrite: str) -> None:
    finding = check_blameless(sentence).findings[0]
    assert finding.suggestion == rewrite and check_blameless(finding.suggestion).blameless


@pytest.mark.parametrize(
    ("sentence", "rewrite"),
    [
        ("I should have caught it myself.", "It was not caught, and no step or check in the process required it."),
        ("We should have tested it ourselves.", "It was not tested, and no step or check in the process required it."),
        (
            "Dana should have reviewed the migration herself.",
            "The migration was not reviewed, and no step or check in the process required it.",
        ),
    ],
)
def test_a_reflexive_pronoun_leaves_the_rewrite_with_the_person(sentence: str, rewrite: str) -> None:
    [finding] = check_blameless(sentence).findings
    assert finding.suggestion == rewrite


@pytest.mark.parametrize(
    ("sentence", "rewrite"),
    [
        ("I accidentally force pushed my local master branch which was apparently quite old.",
         "The local master branch, which was apparently quite old, was force pushed; nothing in the process stopped or "
         "caught it before it took effect."),
        ("Since you accidentally pushed everything into the English file and I merged, I had to revert it again, so "
         "it's completely undone now.",
         "Everything was pushed into the English file; nothing in the process stopped or caught it before it took "
         "effect."),
        ("A 911 dispatcher has been fired after she accidentally sent first responders to the wrong address this week "
         "when a man called in complaining of chest pains.",
         "First responders were sent to the wrong address this week; nothing in the process stopped or caught it "
         "before it took effect."),
        ("To recap, a junior developer accidentally wiped the production database while setting up their dev "
         "environment.",
         "The production database was wiped; nothing in the process stopped or caught it before it took effect."),
        ("They've got really good food, but in this particular case I was about ready to throttle the waiter, not just "
         "because he screwed up the order but because he paid zero attention to us.",
         "The order was screwed up; nothing in the process stopped or caught it before it took effect."),
        ("An employee made a mistake and caused the failure of both Unimatic and our backup system.",
         "A mistake was made and caused the failure of both Unimatic and the backup system; nothing in the process "
         "stopped or caught it before it took effect."),
        ("You Screwed up the releases!",
         "The releases were screwed up; nothing in the process stopped or caught it before it took effect."),
        ("I should have paid attention!",
         "Attention was not paid, and no step or check in the process required it."),
        ("A developer ran a SQL statement against production and accidentally deleted a single row of live data.",
         "A single row of live data was deleted; nothing in the process stopped or caught it before it took effect."),
        ("While removing my home's old floors, the flooring contractor accidentally cut a water line that was running "
         "right under the plywood subfloor.",
         "A water line, which was running right under the plywood subfloor, was cut; nothing in the process stopped or "
         "caught it before it took effect."),
        ("A contractor mistook it for a door release.",
         "It was mistaken for a door release; nothing in the process stopped or caught it before it took effect."),
        ("They only made one mistake - not having a qualified mechanic or surveyor inspect the vessel before they "
         "bought it.",
         "One mistake was made - not having a qualified mechanic or surveyor inspect the vessel; nothing in the "
         "process stopped or caught it before it took effect."),
        ("The nurse did not even check the chart before she hung it--(that was when the charts were at the foot of the "
         "beds.)",
         "The chart was not checked, and no step or check in the process required it."),
        ("Whoops!  Forgot to change ip in my firewall after power outage hosed everything.",
         "Ip was not changed in the firewall after power outage hosed everything, and no step or check in the process "
         "required it."),
        ("He returned shortly but did not realize the agitator was off.",
         "It was not realized that the agitator was off, and no step or check in the process required it."),
        ("merge commit of PR #619 failed - Jim's mistake.",
         "Merge commit of PR #619 failed; nothing in the process stopped or caught it before it took effect."),
        ("And, my bad, too, there was never a PR for these breaking changes in the first place...",
         "There was never a PR for these breaking changes in the first place; nothing in the process stopped or caught "
         "it before it took effect."),
        ("The contractor from the cabling company yanked the wrong patch cable.",
         "The wrong patch cable was yanked; nothing in the process stopped or caught it before it took effect."),
    ],
)  # fmt: skip
def test_blaming_sentences_are_rewritten_from_their_own_words_without_the_person(sentence: str, rewrite: str) -> None:
    """Shapes from external_train9: a compound verb ("force pushed"), a closing relative clause that goes with the
    object, a person's later clause cut off, a possessive in the rest made an article, a particle verb, an irregular
    participle, an adverb before the verb not done, what was not noticed as a clause, a dash that ends the object, a
    prepositional phrase between the person and their verb, a clause of self-blame dropped from what happened."""
    findings = check_blameless(sentence).findings
    assert findings and {f.suggestion for f in findings} == {rewrite}


@pytest.mark.parametrize(
    "sentence", ["Bob was careless and pushed a bad config.", "The intern is lazy but ran the migration anyway."]
)
def test_a_judgement_after_was_leaves_no_was_and_in_the_rewrite(sentence: str) -> None:
    """`check-blameless "Bob was careless and pushed a bad config."` suggested "Bob was and pushed a bad config.":
    the judgement was dropped and its copula left before the conjunction."""
    [finding] = check_blameless(sentence).findings
    assert finding.rule == "judgement"
    assert " was and " not in finding.suggestion and " is but " not in finding.suggestion, finding.suggestion
    assert check_blameless(finding.suggestion).blameless


@pytest.mark.parametrize(
    ("sentence", "start"),
    [
        ("Bob deployed kubectl changes without review.", "kubectl changes were deployed"),
        ("Dana pushed iOS builds without testing.", "iOS builds were pushed"),
        ("Dana deployed `foo` without review.", "`foo` was deployed"),
        ("Dana ran deploy_v2.sh without testing.", "deploy_v2.sh was run"),
        ("Dana deleted config/prod.yaml by mistake.", "config/prod.yaml was deleted"),
        (
            "Dana pushed ghp_abcdefghijklmnopqrstuvwxyz0123456789 to the repo without review.",
            "[REDACTED:github_token] was pushed",
        ),
        ("Dana ran terraform2 apply without review.", "terraform2 apply was run"),
        ("Dana deployed the migration without reading it.", "The migration was deployed"),
    ],
    ids=["command", "inner-capital", "backticks", "underscore-and-dot", "slash", "token", "digit", "plain-word"],
)
def test_a_rewrite_starting_with_an_identifier_keeps_it_as_written(sentence: str, start: str) -> None:
    """The sentence's first letter was made a capital whatever the word: "Kubectl", "IOS", "Ghp_...", "Deploy_v2.sh".
    Only a plain lower-case word is capitalised."""
    finding = check_blameless(sentence).findings[0]
    assert finding.suggestion is not None and finding.suggestion.startswith(start), finding.suggestion


@pytest.mark.parametrize(
    ("sentence", "rewrite"),
    [
        ("Bob forgot to rotate the token and should have known",
         "The token was not rotated, and no step or check in the process required it."),
        ("Dana missed the alert and should have caught it.",
         "The alert was not caught, and no step or check in the process required it."),
        ("Bob forgot to rotate the token and should have known better, so the outage lasted an hour.",
         "The token was not rotated, so the outage lasted an hour, and no step or check in the process required it."),
    ],
)  # fmt: skip
def test_a_trailing_judgement_clause_is_not_kept_in_the_rewrite(sentence: str, rewrite: str) -> None:
    """The rewrite read "...was not rotated and should have known": the person out, their judgement kept."""
    finding = check_blameless(sentence).findings[0]
    assert finding.suggestion == rewrite
