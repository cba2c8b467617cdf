"""The shapes of blame added in round 10 (docs/blameless.md), each pinned by an invented sentence in the same shape as
a miss of the rules, with the rule that now fires; and the look-alikes each shape must leave alone."""

import pytest

from agent_postmortem.analysis.blame import detect
from agent_postmortem.analysis.blameless import check_blameless


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("Do you even test your changes before you release them?", "question"),
        ("The clerk then confirms the address without proper verification.", "person_as_cause"),
        ("The router was accidentally shut down by a technician.", "person_as_agent"),
        ("Some of the managers are clearly to blame for the outage.", "blame_word"),
        ("There was an issue from my part with the release.", "blame_word"),
        ("It's partly their (the vendor's) fault too.", "blame_word"),
        ("You two can share the blame for this one.", "blame_word"),
        ("The outage came from a technician error during the upgrade.", "human_error"),
        ("The rollout broke because of a misconfigured load balancer rule added by a contractor.", "person_as_agent"),
        ("The report used incorrect figures that the analyst typed in from memory.", "person_as_agent"),
        ("We won't do that again.", "person_as_cause"),
        ("The old index was mistakenly dropped after we renamed the schema.", "person_as_cause"),
        ("Yesterday you pushed a branch that wasn't supposed to go public.", "person_as_cause"),
        # written from the rules' misses on the three design quarters of train8 and train9
        ("I dropped the ball on telling the networking lead.", "person_as_cause"),
        ("The renewal slipped my mind last month.", "blame_word"),
        ("Sorry, the outage was down to my erroneous commit to the routing file.", "blame_word"),
        ("How do I roll the branch back to before my cockup?", "blame_word"),
        ("The nurse gave the medication without further verification.", "person_as_cause"),
        ("The attorney filed the brief without independently verifying the citations.", "person_as_cause"),
    ],
)
def test_the_round_10_shapes_are_found(text: str, rule: str) -> None:
    spans = detect(text)
    assert [s.rule for s in spans] == [rule], spans


@pytest.mark.parametrize(
    "text",
    [
        "Nobody is to blame for the outage.",  # a denial: "is to blame" with nobody as its subject
        "From my part of the world the site loads fine.",
        "The wrong value was set by the migration job.",  # something faulty a system made
        "An incorrect schema that the pipeline generated broke the build.",
        "The cache was accidentally cleared when the job restarted.",  # a mistake in the passive, a system after it
        "The server was shut down by the scheduler at midnight.",
        "The GPU driver error froze the render nodes.",
        "Do not let the renewal slip your mind.",  # advice, not a task that slipped someone's mind
        "The job retried without further delay.",
    ],
)
def test_their_look_alikes_are_not_flagged(text: str) -> None:
    assert check_blameless(text).blameless, detect(text)
