"""The shapes of blame added in round 11 (docs/blameless.md), written from the misses on test10, each pinned by an
invented sentence in the same shape, with the rule that now fires; and the look-alikes each must leave alone:
systems failing, people acting without a failure."""

import pytest

from agent_postmortem.analysis.blame import detect
from agent_postmortem.analysis.blameless import check_blameless


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        # people in aviation, hospitals, rail and buildings are roles ("controller" alone stays software)
        ("An air traffic controller forgot to hand the flight over to the next sector.", "person_as_cause"),
        ("The anaesthetist failed to record the second dose.", "person_as_cause"),
        ("Our landlord forgot to pay the electricity bill for the server room.", "person_as_cause"),
        # a mistake by a bare plural of people
        ("The go-around followed a string of errors by pilots on the night rotation.", "person_as_agent"),
        # cutting or crushing a cable, and causing an accident outside software
        ("A road crew severed the fibre trunk outside the depot.", "person_as_cause"),
        ("The signaller caused a derailment at the junction.", "person_as_cause"),
        # acting on the wrong thing: more verbs, and an indirect object of two words
        ("The surgeon performed the biopsy on the wrong kidney.", "person_as_cause"),
        ("The pharmacist gave an elderly patient the wrong tablets.", "person_as_cause"),
        # a role's error, and a scolding imperative after "then"
        ("The go-around was caused by air traffic controller error.", "human_error"),
        ("The near miss came down to an ATC error on the approach.", "human_error"),
        ("Then stop deploying untested changes on Fridays!", "scolding"),
    ],
)
def test_the_round_11_shapes_are_found(text: str, rule: str) -> None:
    spans = detect(text)
    assert [s.rule for s in spans] == [rule], spans


@pytest.mark.parametrize(
    "text",
    [
        "The controller failed to reconcile the replica set.",  # a bare controller is software
        "The Kubernetes controllers crashed after the upgrade.",
        "Errors by workers in the queue are retried twice.",  # software workers
        "The storm severed two fibre lines north of the city.",  # nature and machines cutting cables
        "The backhoe crushed the conduit under the car park.",
        "The update caused a crash on startup.",  # a system causing an accident
        "The scheduler placed the pod on the wrong node.",
        "The surgeon operated on the patient's left knee as planned.",  # people acting without a failure
        "The nurse gave the patient the prescribed dose.",
        "The landlord restored the power within an hour.",
        "Then stop the service and restart it.",  # an instruction, not a scolding
        # false hits on test10, in the same shapes: an answer not received, a belief that it is not one's fault
        "I contacted the person listed as maintainer by email but did not get any answer.",
        "I pinged the release manager twice and did not hear back any reply.",
        "I don't think the broken nightly build is my fault at all.",
    ],
)
def test_their_look_alikes_are_not_flagged(text: str) -> None:
    assert check_blameless(text).blameless, detect(text)


@pytest.mark.parametrize(
    "text",
    [
        "She did not hear the page and missed the rollback.",  # the guards' neighbours still blame
        "I did not think twice and it was entirely my fault.",
        "He didn't run the tests before deploying to production.",
    ],
)
def test_the_guards_leave_blame_next_to_them_found(text: str) -> None:
    assert not check_blameless(text).blameless
