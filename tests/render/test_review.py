"""The review of an incident's fix: whether it held, and the pattern with its action items in a valid table."""

from datetime import timedelta

from agent_postmortem.render.report import render_review, review_outcome
from agent_postmortem.store.models import (
    TimelineEvent,
)
from tests.factories import FIXED_NOW
from tests.render.samples import incident, item, known


def test_review_outcomes() -> None:
    lightweight = incident(severity="SEV4", triage="lightweight")
    assert review_outcome(lightweight, [], [item(1)])[0].startswith("Not a known pattern")
    fixed = item(1, "completed").model_copy(update={"completed_at": FIXED_NOW - timedelta(days=1)})
    assert (
        "Recurred after fix"
        in review_outcome(lightweight.model_copy(update={"last_seen_at": FIXED_NOW}), [known()], [fixed])[0]
    )
    assert (
        "Recurred after fix"
        in review_outcome(lightweight.model_copy(update={"recurred_after_fix": True}), [known()], [])[0]
    )
    assert review_outcome(lightweight, [known()], [])[0].startswith("No action items")
    assert review_outcome(lightweight, [known()], [item(1, overdue=True), item(2)])[0].startswith("1 item overdue")
    [fine] = review_outcome(lightweight, [known()], [item(1, "completed"), item(2, "in_progress")])
    assert fine.startswith("Known pattern, 1 of 2 items completed")


def test_a_review_of_an_incident_before_the_fix_does_not_say_the_fix_did_not_hold() -> None:
    """The review of the first incident of a pattern whose items were all completed after it said "Recurred after fix:
    ... the failure came back. Escalate", while fix_effectiveness called the same pattern holding."""
    before = incident(severity="SEV4", triage="lightweight")
    done = item(1, "completed").model_copy(update={"completed_at": FIXED_NOW + timedelta(days=1)})
    [fine] = review_outcome(before, [known()], [done])
    assert fine.startswith("Known pattern, 1 of 1 item completed")
    seen_again = before.model_copy(update={"last_seen_at": FIXED_NOW + timedelta(days=2), "occurrences": 2})
    assert "Recurred after fix" in review_outcome(seen_again, [known()], [done])[0]
    timeline = [
        TimelineEvent(at=FIXED_NOW + timedelta(hours=5), kind="resolved", description="Marked resolved."),
        TimelineEvent(at=FIXED_NOW + timedelta(days=3), kind="note", description="Reopened: the coupons leak again"),
    ]
    reopened = before.model_copy(update={"timeline": timeline, "status": "open"})
    assert "Recurred after fix" in review_outcome(reopened, [known()], [done])[0]
    early = [timeline[0], timeline[1].model_copy(update={"at": FIXED_NOW + timedelta(hours=6)})]
    assert (
        "Recurred after fix" not in review_outcome(before.model_copy(update={"timeline": early}), [known()], [done])[0]
    )


def test_review_lists_the_pattern_and_its_items_in_a_valid_table() -> None:
    text = render_review(
        incident(severity="SEV4", triage="lightweight", title="Coupon <b>leak</b>"),
        pattern=[known()],
        items=[item(1, "completed"), item(2, overdue=True)],
        same_signature={"INC-2"},
        now=FIXED_NOW,
    )
    assert text.startswith("# Lightweight review: Coupon &lt;b&gt;leak&lt;/b&gt;")
    assert "- [ ] INC-2 (cosine 0.91, **same failure signature**" in text
    assert "1 of 2 completed, **1 overdue**" in text
    rows = [line for line in text.splitlines() if line.startswith("| AI-")]
    assert len(rows) == 2 and all(row.count(" | ") == 5 for row in rows)  # the title's pipe is escaped
    assert "Mark page text as data \\| step 2" in rows[1] and "**overdue**" in rows[1]
    assert "1 item overdue" in text


def test_a_review_does_not_say_the_fix_did_not_hold_when_an_item_was_completed_on_a_date_not_recorded() -> None:
    """With no item's completion date known the review said "Recurred after fix: ... the failure came back", and with
    one known beside an unknown one it judged by the known date, earlier than the fix may have been."""
    seen_again = incident(severity="SEV4", triage="lightweight").model_copy(
        update={"last_seen_at": FIXED_NOW + timedelta(days=2), "occurrences": 2}
    )
    dated = item(1, "completed").model_copy(update={"completed_at": FIXED_NOW + timedelta(days=1)})
    for items in ([item(2, "completed")], [dated, item(2, "completed")]):
        outcome = review_outcome(seen_again, [known()], items)
        assert not any("Recurred after fix" in line for line in outcome), outcome
        assert outcome[0] == (
            "Every item on this pattern is completed, but the completion date of 1 item is not recorded: whether this "
            "failure came back after the fix cannot be told."
        )
    flagged = seen_again.model_copy(update={"recurred_after_fix": True})  # a capture knew it came after the fix
    assert "Recurred after fix" in review_outcome(flagged, [known()], [item(2, "completed")])[0]
