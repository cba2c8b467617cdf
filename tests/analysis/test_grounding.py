"""Grounding checks on a draft: citations limited to its context, whys going deeper, no blame, items tied to causes."""

from agent_postmortem.analysis.grounding import REMOVED, ground, limit_citations, quality_warnings, specifics
from agent_postmortem.store.models import AnalysisDraft, DraftFactor, DraftWhy, ProposedAction
from tests.factories import draft


def with_changes(**changes: object) -> AnalysisDraft:
    return draft().model_copy(update=changes)


def test_only_incidents_from_the_context_may_be_cited() -> None:
    cited = with_changes(
        root_cause="Same as INC-4 and inc 12: the system allowed retries without backoff (see INC-0099).",
        whys=[DraftWhy(question=f"Why {n}?", answer=f"Layer {n}, like INC-4.") for n in range(1, 4)],
    )
    cleaned, kept, removed = limit_citations(cited, {"INC-4", "INC-7"})
    assert kept == ["INC-4"] and removed == ["INC-12", "INC-99"]
    assert (
        cleaned.root_cause
        == f"Same as INC-4 and {REMOVED}: the system allowed retries without backoff (see {REMOVED})."
    )
    assert all("INC-4" in w.answer for w in cleaned.whys)


def test_a_clean_draft_has_no_warnings() -> None:
    result = ground(draft(), {"INC-1"})
    assert result.warnings == [] and result.removed_citations == [] and result.draft == draft()


def test_whys_that_restate_the_previous_one_are_flagged() -> None:
    whys = [
        DraftWhy(question="Why did the agent fail?", answer="The fares API rejected its calls with 429."),
        DraftWhy(question="Why were calls rejected?", answer="The fares API rejected the calls with 429 errors."),
        DraftWhy(question="Why so many calls?", answer="Retries went out at once from 40 workers."),
    ]
    assert quality_warnings(with_changes(whys=whys)) == ["why 2 restates why 1 instead of going deeper"]


def test_blame_in_the_root_cause_is_flagged() -> None:
    warnings = quality_warnings(with_changes(root_cause="The on-call engineer forgot to configure backoff."))
    assert len(warnings) == 1 and warnings[0].startswith("the root cause blames a person")


def test_action_items_must_address_the_root_cause_or_a_factor() -> None:
    items = [
        ProposedAction(
            title="Add jitter to every retry loop",
            owner_role="platform",
            priority="P1",
            due_in_days=7,
            addresses="no jitter",
        ),
        ProposedAction(
            title="Buy the team a nicer coffee machine",
            owner_role="office",
            priority="P2",
            due_in_days=30,
            addresses="morale",
        ),
    ]
    drafted = with_changes(action_items=items, contributing_factors=[DraftFactor(factor="no jitter", effect="bursts")])
    [warning] = quality_warnings(drafted)
    assert "coffee machine" in warning and "morale" in warning


def test_a_citation_written_with_a_typographic_dash_is_held_to_the_context_too() -> None:
    """`INC‑999` (the non-breaking hyphen some models write) and `INC–998` (an en dash) stayed in a stored draft,
    not in its context and not listed as removed, while `INC-999` was removed."""
    cited = with_changes(root_cause="Same as INC\u20114 and INC\u2011999 and INC\u2013998: the system allowed retries.")
    cleaned, kept, removed = limit_citations(cited, {"INC-4"})
    assert kept == ["INC-4"] and removed == ["INC-999", "INC-998"]
    assert cleaned.root_cause == f"Same as INC-4 and {REMOVED} and {REMOVED}: the system allowed retries."


def test_only_identifiers_and_numbers_are_specifics_not_words_written_like_them() -> None:
    """The eval's grounding scorer counted "e.g" and an item's `addresses` written as the schema names it
    ("root_cause") as identifiers the incident never mentions; "24/7" as a figure; INC-42 as the number 42."""
    text = (
        "Set pool_size to 40 in db.conf (e.g. after v2.5, i.e. at 9 a.m.) and page the on-call 24/7; "
        "addresses: root_cause, contributing_factors; as in INC-42, addresses and owners were checked."
    )
    assert specifics(text) == {"pool_size", "40", "db.conf", "v2.5"}


def test_an_item_may_name_its_cause_by_the_schemas_field_or_by_number() -> None:
    """A model (or an assistant over MCP) naturally sends `"addresses": "root_cause"`: it was warned as addressing
    neither the root cause nor a factor, while "root cause" passed."""
    draft = with_changes(contributing_factors=[DraftFactor(factor="no jitter", effect="synchronised retries")])

    def warned(addresses: str) -> list[str]:
        item = ProposedAction(
            title="Add jitter to every retry loop",
            owner_role="platform",
            priority="P1",
            due_in_days=7,
            addresses=addresses,
        )
        return quality_warnings(draft.model_copy(update={"action_items": [item]}))

    for addresses in ("root_cause", "Root-Cause", "factor 1", "contributing_factors[0]", "factor #1"):
        assert warned(addresses) == [], addresses
    assert len(warned("factor 7")) == 1  # there is no 7th
