"""Blameless-language checks: the shapes of blame found on external text (people, roles, questions, self-blame,
scolding), each with the rule that fires and a rewrite that names no one."""

import re

import pytest

from agent_postmortem.analysis.blame import detect
from agent_postmortem.analysis.blameless import check_blameless


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("Why didn't you run the migration on staging first?", "question"),
        ("Why did Marco push straight to main on a Friday?", "question"),
        ("How did nobody notice the alert for two days?", "question"),
        ("Did you even test the rollback script?", "question"),
        ("The cache was wiped, apparently by me, during the cleanup.", "person_as_agent"),
        ("The broken flag was introduced by us in the last release.", "person_as_agent"),
        ("The outage was our fault.", "blame_word"),
        ("It was my silly mistake, the staging key went to prod.", "blame_word"),
        ("The one to blame is the release manager.", "blame_word"),
        ("Please stop pushing to main without a review.", "scolding"),
        ("Test your changes before you open a pull request.", "scolding"),
        ("Actually pay attention to the deploy checklist next time.", "scolding"),
        ("I caused the outage with a bad config push.", "person_as_cause"),
        ("We apologise for not warning customers sooner.", "person_as_cause"),
        ("I moved the fixture into the shared folder and pushed without rebuilding the bundle.", "person_as_cause"),
        ("A mistake by the on-call engineer took the checkout API down.", "person_as_agent"),
        ("The outage came from a typo by one of the contractors.", "person_as_agent"),
        ("The mistake was mine: the flag went out to everyone.", "blame_word"),
        ("I'm taking the blame for the bad rollout.", "blame_word"),
        ("He had made a serious mistake in the failover runbook.", "person_as_cause"),
        ("A technician, tired after a double shift, accidentally pulled the wrong power cord.", "person_as_cause"),
        ("Sorry I broke staging while rebasing.", "person_as_cause"),
        ("I copied the staging config but forgot to change the bucket name.", "person_as_cause"),
        ("Without checking the target, she ran the cleanup job against prod.", "person_as_cause"),
        ("Have you run the migration locally before merging it?", "question"),
        ("Please don't do that again.", "scolding"),
        ("My last commit broke the nightly build.", "possessive"),
        ("Thanks for saving me from my own stupidity.", "judgement"),
    ],
)
def test_questions_self_blame_scolding_and_other_shapes_are_blame(text: str, rule: str) -> None:
    findings = check_blameless(text).findings
    assert [f.rule for f in findings] == [rule], (text, findings)
    assert check_blameless(findings[0].suggestion).blameless, findings[0].suggestion


@pytest.mark.parametrize(
    "text",
    [
        "Someone else had forgotten to turn the diesel supply back on.",  # no role word: the past perfect omission
        "Some idiot had forgotten to switch the generator back on.",  # an insult names a person
        "In under a minute, she deleted about 9,000 customer records.",  # data destroyed at a scale
        "A landscaping crew near the depot cut the fiber line.",  # physical damage by a crew
        "@carol it looks like your commit was never reviewed and the release is failing.",  # an owned change untested
        "The outage started because you merged into the release branch.",  # the failure first, then who
        "He was the one who deleted the staging bucket.",
        "For whatever reason I copied the numbers from the old report.",
        "I'll be more careful with the flags next time.",
        "It was our contractor's mistake.",
        "The on-call engineer does not answer the page.",
        "Later that week the support team changed the routing rules without notifying anyone.",
        "I was the one who handed it the keys, left them in the config, and didn't think it through.",
        "Somehow we managed to skip two steps of the checklist.",
        "It was the contractor, who skipped the load test, that worried us most.",  # a person in a relative clause
        "I sabotaged the rollout with a stale feature flag.",
        "Sorry that I didn't run the linter before tagging.",
        "Leaving the bucket public was so basic a mistake that I would fire that consultant on the spot.",
        "A contractor backing a truck into the cabinet, which cut power to the rack, started it all.",
        "I was migrating the users table to the new cluster in a hurry, and wasn't paying attention to which host I "
        "was connected to.",  # the same person's second verb, far after the first
        "The safety driver was looking at a phone and did not brake.",  # people outside software
        "The chatbot invented a citation that the attorney never checked.",
        "Someone on the analytics team truncated the sessions table while trying a query.",  # a data store destroyed
        "The contractor left the storage bucket open to the public.",
        "The admin bypassed the approval step to ship the hotfix.",
        "The release lead decided to skip the soak test to hit the date.",
        "A staff member clicked a phishing link and typed in their password.",
        "This happened because the developer hard-coded the retry limit.",
        "The person who approved the change didn't read the diff.",  # a relative "who" keeps the person the subject
        "The intern's script wiped the shared drive.",
        "Sorry all, that was me: the lockfile never got regenerated.",  # owning it
        "Technicians at the site overrode the automatic shutdown.",
        "The nurse selected the wrong patient record.",  # any act on the wrong thing
        "A council official posted the admin password on a public forum.",  # something exposed in a public place
        "The reviewers rubber-stamped the migration.",
        "Our platform team let the certificate expire.",
        "The programmer introduced an off-by-one error in the pager.",
        "The researchers used the recordings without consent.",
        "According to the audit, staff ignored the warnings for weeks.",
        "The shift lead misjudged the pressure and opened the valve.",  # a verb of getting it wrong
        "Priya from accounting emailed the salary sheet to the entire company.",
        "It's squarely on the networking team; they changed the routes at midnight.",
        "Sam approved his own merge request.",
        "The on-call person snoozed the page twice.",
        "Leadership moved the launch up despite the failing soak tests.",
        "It was the contractor who typed the command in the wrong shell.",  # a cleft naming who did it
        "The annotator mislabeled a third of the images.",
        "ok who merged this without running it",  # an accusing question
        "whoever wrote this script never ran it against real data",
        "@lena you've broken the nightly build with that commit",
        "Our interns keep pushing secrets to the repo.",
        "the customer's config was wrong: they set the limit to 0",
        "I blindly pasted the command from a forum.",
        "You deleted the whole directory with one command.",
        "The operator acknowledged the alarm and did nothing.",
        "The clerk clicked the link in the fake invoice.",
        "The ward's staff trusted the scores and stopped double-checking them.",
        "Executives overruled the safety team and launched anyway.",
        "A paralegal filed the motion without checking the citations.",
        "Our admin gave the assistant write access to the billing system.",
        "Rick hard-coded the signing key in the mobile app.",
        "The engineer on call muted the pager and left.",
        "They rolled the model out everywhere instead of canarying it.",
        "The new contractor force-pushed an old branch over main.",
        "Team-member-2 ran the cleanup command on the wrong host.",  # a person by number, an act on the wrong host
        "One of the parameters was typed incorrectly by the operator.",
        "The analyst responsible ran the report with the wrong date range.",
        "He merged the parser change without a benchmark.",
        "The incident manager decided not to escalate to the network team.",
        "The operations staff edited the load balancer by hand and introduced a loop.",
        "The help desk engineer granted the caller admin rights.",
        "This regression came from @mira's refactor on Monday.",  # the source of a failure, not a preposition's object
        "The previous maintainer left the publish token in the CI settings.",
        "Whoever ran the load test pointed it at production instead of the staging copy.",
        "The author force-merged the branch over three failing checks.",
        "Marketing sent the campaign to the full list instead of the test segment.",
        "The on-call dev closed the alert as a false positive without looking.",
        "The intern uploaded the production database dump to a shared folder.",
        "The lab technician mixed up the sample labels.",
        "The accountant keyed in the wrong account number.",
        "Whoever configured the bucket made it world-readable.",
        "Our CTO insisted on skipping the staging environment.",
        "The designer shipped the new page without any accessibility testing.",
        "Yesterday Dana deployed the migration without reading it.",  # a name after a sentence's first word
        "Then Bob Smith ran the script against prod by mistake.",
        "The human annotator gave the agent the wrong reference answer.",  # people around AI systems
        "The user told the assistant to skip the tests.",
        "A developer connected the agent to the billing database with full write permissions.",
        "The hiring manager rejected applicants based solely on the model's score.",
        "The safety driver was looking at her phone when the car struck the barrier.",
        "The developer let the agent run shell commands as root.",
        "Our data scientist tuned the model on labels from the test set.",
        "The admin shared the API key in the team channel.",
        "The regression was not caught by QA.",  # unseen by a person: the finding verbs count when not done
        "It should have been discovered by the contractor who was using it.",
        "The alert was never acknowledged by the on-call engineer.",
        "During the incident the intern deleted the table.",  # "During" is no gerund
    ],
)
def test_further_shapes_of_a_person_as_the_cause_are_found(text: str) -> None:
    findings = check_blameless(text).findings
    assert findings
    for rewrite in (f.suggestion for f in findings):  # rewritten into a sentence that names no one
        assert not detect(rewrite) and not re.search(r"\b(?:I|he|she|you|your|my|we|our|@\w+)\b", rewrite), rewrite


@pytest.mark.parametrize(
    "text",
    [
        "She wrongly typed the tenant id into the purge command.",
        "I incorrectly ran the cleanup job against the billing cluster.",
        "The technician erroneously loaded last week's calibration file.",
        "We just merged the release branch into main on accident.",
        "The contractor installed the new firmware on the wrong rack.",
        "He logged into the wrong database and dropped the sessions table.",
    ],
)
def test_an_adverb_of_getting_it_wrong_or_an_act_on_the_wrong_thing_is_a_person_as_the_cause(text: str) -> None:
    report = check_blameless(text)
    assert [f.rule for f in report.findings] == ["person_as_cause"]
    assert not re.search(r"\b(?:she|he|i|we|the technician|the contractor)\b", report.findings[0].suggestion, re.I)


@pytest.mark.parametrize(
    "text",
    [
        "The scheduler wrongly typed the tenant id into the purge command.",
        "The sync job incorrectly ran the cleanup against the billing cluster.",
        "The router sent the traffic to the wrong region.",
        "Customers were incorrectly charged twice for the renewal.",
        "I set up the agent and it incorrectly wrote the tools list as YAML.",
        "The camera system at the stadium in Cardiff wrongly identified two fans.",
    ],
)
def test_systems_and_places_getting_it_wrong_are_not_people(text: str) -> None:
    assert detect(text) == []


def test_that_before_a_noun_is_part_of_the_object_and_before_a_clause_is_not() -> None:
    assert check_blameless("He wiped that disk by mistake.").findings[0].suggestion.startswith("That disk was wiped")
    assert (
        check_blameless("He forgot that the flag was live.")
        .findings[0]
        .suggestion.startswith("It was forgotten that the flag was live")
    )
