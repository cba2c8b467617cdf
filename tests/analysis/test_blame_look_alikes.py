"""Blameless-language checks: the statements that look like blame and are not (systems, questions, conditionals,
talk of blame, people who found or fixed something), none of which is flagged."""

import pytest

from agent_postmortem.analysis.blameless import check_blameless


@pytest.mark.parametrize(
    "text",
    [
        "If the reviewer does not approve within a day, the change is closed.",  # a conditional in the present
        "Everybody forgets a step at some point.",  # a generic truth about people
        "Operators will make mistakes, so the console must confirm destructive commands.",
        "We did not have an alert on replication lag.",  # a lack in the system
        "We did not receive alerts on kafka-exporter, since its alert rule named the old job.",  # nothing reached us
        "The on-call did not get paged because the rotation was empty.",
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
