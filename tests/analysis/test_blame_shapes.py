"""Blameless-language checks: the shapes of blame found on external text (people, roles, questions, self-blame,
scolding) and the statements that are not blame, each with the rule that fires and a rewrite that names no one."""

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
        "If the reviewer does not approve within a day, the change is closed.",  # a conditional in the present
        "Everybody forgets a step at some point.",  # a generic truth about people
        "Operators will make mistakes, so the console must confirm destructive commands.",
        "We did not have an alert on replication lag.",  # a lack in the system
        "They didn't blame the on-call engineer and fixed the runbook instead.",
        "The platform is now robust enough to handle operator error.",
        "Across the fleet, misconfigured hosts were rebuilt.",  # a preposition is not a name
        "We deleted all the stale branches after the release.",  # a cleanup, not damage
        "Nobody deserves the blame for this.",
        "It was our system's fault, not anyone's.",
        "The QA test suite doesn't cover log collection.",  # QA modifies a system noun (eval case 37_beacon)
        "I'm quite certain I did not run the migration twice; could the job retry?",  # a denial
        "A misconfiguration of a bucket operated by a partner exposed the logs.",  # "by" belongs to "operated"
        "The report describes how the decisions of several engineers shaped the design.",  # the decisions act
        "Anyone who forgets a password can reset it from the login page.",
        "We don't fire engineers for honest mistakes.",
        "Orchestrator forgot to ask the web agent for the second page.",  # agents of a multi-agent system
        "Planner skipped the verification step.",
        "Acme's Autopilot failed to detect the trailer.",  # a product after its owner
        "The GPU driver failed to load after the kernel update.",  # software drivers
        "The JDBC driver did not retry the connection.",
        "We disabled the flaky alert after tuning its threshold.",  # alerts are tuned, safeguards are bypassed
        "The engineer updated the credentials after the rotation.",
        "The team opted to keep the old cluster as a fallback.",
        "The customer who reported the outage did not get a reply for hours.",  # a witness, not the cause
        "Blaming the engineer would not have prevented this.",
        "The DBA dropped the temporary table after the migration.",
        "Issue triage bot posted a summary in a public comment.",  # a system's name, not a person's
        "It was me who found the leak and rotated the keys.",
        "The engineer noticed the wrong value in the dashboard and reverted the change.",
        "It was the on-call engineer who found the root cause.",  # a cleft naming who found it
        "The mission control team approved the launch window.",
        "Review did not catch this.",  # a heading word, not a name
        "Who fixed this? Great work.",
        "The monitoring I set up appears to be broken after the update.",
        "An engineer ran the documented procedure, which targeted the wrong region.",  # a documented action
        "We deployed the patch at 09:10 and the errors stopped.",  # a fix, not a failure
        "If an operator drops a table by mistake, the platform should keep a copy.",  # a present conditional
        "The support staff were never trained on the new console.",  # a passive: they are its patient
        "We chose the smaller instance instead of the large one, and it held up fine.",
        "The engineers followed the runbook even though it was out of date.",
        "We did nothing different that day; the traffic pattern changed.",
        "The developers mislabeled nothing; the labelling tool shifted every row by one.",
        "The operator used the wrong-way detection feature to stop the train.",
        "We deployed the new version instead of the old one, as planned.",
        # sentences of agent-failure reports (evals/data/failures) that the shapes of this round first flagged
        "Gemini Flash deleted a directory of code without first checking its contents.",  # a product's second word
        "Malformed manifest applied to the cluster triggered a bug in the proxy.",  # a participle heading a sentence
        "A Federal Court judgment was misstated in the brief.",  # a passive mis-verb
        "The chatbots stated Kirk was alive, mischaracterized the video as satire.",  # another clause's verb
        "Commits are authored only by the human who asked for the change.",
        "The forecast map listed a town that contained fabricated and misspelled names.",
        "PR #847 (Weekly Fixes: Diffuse Midline Glioma) was merged after review.",
        "Re-review needed: PR #12 (Weekly Fixes: Diffuse Midline Glioma) — merged without proper review",
        "I told it to delete one specific file and it deleted everything in the folder.",  # the tool did the harm
        "Why didn't the health check catch the bad pods?",
        "Why did the agent delete the branch?",
        "Did anyone see the alert fire before 09:00?",
        "The job was rerun by the scheduler after the timeout.",
        "This report was written by me and reviewed by the team.",
        "Operators shouldn't have write access to the orders table.",
        "We had a release that failed to start on two nodes.",
        "Stop the worker before you rotate the key.",
        "The queue consumer caused a backlog when it restarted.",
        "We introduced a new caching layer in March.",
        "Sorry for the inconvenience while the index rebuilt.",
        "I think the two merges broke the nightly build.",
        "It was totally not her fault.",
        "Outages of this size are rarely the fault of one person.",
        "Agent ran rm -rf on the workspace without asking for confirmation.",
        "A customer pushed a valid configuration change that triggered the bug and caused errors.",
        "Revert changes accidentally merged into main",
        "To prevent a disaster like this, we removed write access from the deploy role.",
        # found, fixed or told of by a person: no failure of theirs (public postmortems' "was quickly noticed by
        # the team", "was identified by Emil" were flagged)
        "The misconfiguration was quickly noticed by the team.",
        "The root cause was identified by Emil within the hour.",
        "The change was reviewed and approved by Sam before the freeze.",
        "The error was seen by the on-call engineer at 09:12.",
        "The failure was spotted by a customer support agent.",
        "The nurse was instructed by a doctor to give the dose.",
        "- Appointing an incident manager could have helped",  # the person is what the opening gerund acts on
        "We should never be in a situation where the cluster runs out of IP addresses.",  # a norm for a state
        "The intern should never be able to delete the production table.",
        # the agent of a passive is no subject of the verb after it (AIID incidents, never tuned on)
        "The ad-approval algorithm was reported by a security analyst to have neglected simple checks.",
        "AI cameras installed by Ezemvelo KZN Wildlife failed to detect poachers.",
    ],
)
def test_systems_questions_conditionals_and_talk_of_blame_are_not_flagged(text: str) -> None:
    assert check_blameless(text).blameless, check_blameless(text).findings


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
