"""Render an incident as a blameless post-mortem in Markdown (a pure function of its inputs)."""

import re
from datetime import datetime
from pathlib import Path

import jinja2

from agent_postmortem.analysis.blameless import Finding, check_parts
from agent_postmortem.analysis.classify import NOVELTY_THRESHOLD
from agent_postmortem.analysis.decision import category_summary
from agent_postmortem.analysis.learn import RunbookEntry
from agent_postmortem.analysis.wording import counted, short_of
from agent_postmortem.llm.local import quality_note
from agent_postmortem.render import markdown
from agent_postmortem.render.exports import progress
from agent_postmortem.render.markdown import Markdown
from agent_postmortem.render.timeline import folded
from agent_postmortem.store.models import (
    LLM_CATEGORIES,
    ActionItem,
    Analysis,
    AnalysisAction,
    Incident,
    SimilarIncident,
)
from agent_postmortem.store.vocabulary import REOPENED


def _ts(value: datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC")


def _built_from(entry: RunbookEntry) -> str:
    """ "the newest 20 of 41 analysed incidents" when the entry leaves some out, else "3 analysed incidents": "Built
    from 20 analysed incident(s)" read as every one of a category of 41."""
    used = len(entry.incidents)
    if entry.analysed_total > used:
        return f"the newest {used} of {entry.analysed_total} analysed incidents"
    return counted(used, "analysed incident")


_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
    undefined=jinja2.StrictUndefined,
    autoescape=False,
    finalize=markdown.finalize,  # every value is inline-escaped unless a filter made it Markdown already
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)
_env.filters.update(block=markdown.block, built_from=_built_from, code=markdown.code, fence=markdown.fence, ts=_ts)
_env.filters.update(clip=markdown.clipped)  # a long value cut at a word for a table cell
_env.filters.update(progress=progress)  # an action item's status with when it was done, or how late it is
_env.globals.update(link=markdown.link, dash=Markdown("-"))  # the placeholder for a missing value


def _render(template: str, **context: object) -> str:
    return re.sub(r"\n{3,}", "\n\n", _env.get_template(template).render(**context))


# Mermaid decodes `#name;` and `#code;` in labels, and applies a `%%{init: ...}%%` directive wherever it appears
# (one can load remote CSS): every character that can end a label, start a directive or an entity, or turn a
# label into Markdown or HTML is written as an entity code.
_MERMAID_ENTITIES = {c: f"#{ord(c)};" for c in '#&"<>`%{}[]()|\\;:'}


def _mermaid_label(text: str) -> str:
    """Text inside a quoted Mermaid label: entity-encoded, so it cannot end the label or add a directive."""
    short = " ".join(text.split())
    short = short if len(short) <= 80 else short[:79] + "…"
    return "".join(_MERMAID_ENTITIES.get(c, c) for c in short)


def _node_key(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9]+", text.lower()))


def causal_graph(incident: Incident) -> Markdown | None:
    """The contributing factors as a Mermaid flowchart: factor -> effect edges; an effect that is another factor
    continues the chain, and chains end at the incident."""
    a = incident.analysis
    if a is None or not a.contributing_factors:
        return None
    nodes: dict[str, str] = {}

    def node(text: str) -> str:
        return nodes.setdefault(_node_key(text) or text, f"n{len(nodes) + 1}")

    lines = ["flowchart LR", f'  incident(["{incident.id}: {_mermaid_label(incident.title)}"])']
    labels: dict[str, str] = {}
    edges: list[tuple[str, str]] = []
    for f in a.contributing_factors:
        src, dst = node(f.factor), node(f.effect)
        labels.setdefault(src, f.factor)
        labels.setdefault(dst, f.effect)
        edges.append((src, dst))
    lines += [f'  {n}["{_mermaid_label(text)}"]' for n, text in labels.items()]
    lines += [f"  {src} --> {dst}" for src, dst in dict.fromkeys(edges)]
    sources = {src for src, _ in edges}
    lines += [f"  {n} --> incident" for n in labels if n not in sources]
    return Markdown("\n".join(lines))


def analysis_parts(incident: Incident) -> list[tuple[str, str]]:
    """The analysis' text checked for blaming language, part by part: (where, text)."""
    a = incident.analysis
    if a is None:
        return []
    parts = [(f"why {n}", f"{w.question} {w.answer}") for n, w in enumerate(a.whys, start=1)]
    parts += [("root cause", a.root_cause), ("model behavior", a.model_behavior or "")]
    parts += [(f"factor {n}", f"{f.factor} {f.effect}") for n, f in enumerate(a.contributing_factors, start=1)]
    return parts


def novelty(incident: Incident, similar: list[SimilarIncident], threshold: float = NOVELTY_THRESHOLD) -> Markdown:
    """Whether the failure was novel, in words that agree with the similar incidents listed under them."""
    close = sorted((s for s in similar if s.score >= threshold), key=lambda s: -s.score)
    nearest = max(similar, key=lambda s: s.score, default=None)
    measure = f"at least {threshold:.2f} similar in meaning (cosine)"
    if incident.novel and not close:
        text = f"A **novel** failure mode: no past incident is {measure}"
        return Markdown(
            text + (f"; the closest is {nearest.id} at {short_of(nearest.score, threshold)}." if nearest else ".")
        )
    if incident.novel:
        later = [s.id for s in close if s.created_at > incident.created_at]
        if len(later) == len(close):
            return Markdown(
                f"A **novel** failure mode when it was captured: nothing was {measure}. "
                f"Recorded since: {', '.join(later)}."
            )
        return Markdown(
            f"Captured as a **novel** failure mode, but {close[0].id} is now {close[0].score:.2f} similar "
            f"(threshold {threshold:.2f}): the knowledge base or its model changed since."
        )
    if close:
        return Markdown(
            f"A **known** failure mode: {close[0].id} is {close[0].score:.2f} similar (cosine, "
            f"threshold {threshold:.2f})."
        )
    return Markdown(
        f"Recorded as a **known** failure mode (a repeat of a failure signature, or imported history), though no "
        f"past incident is now {measure}."
    )


def _action_items(
    incident: Incident, linked: dict[str, ActionItem]
) -> tuple[list[AnalysisAction], list[tuple[AnalysisAction, ActionItem | None]]]:
    """The draft's proposals not yet tracked, and those that repeat an open item (with that item, when found)."""
    if incident.analysis is None:
        return [], []
    tracked = {a.title for a in incident.action_items}
    proposals = incident.analysis.action_items
    fresh = [p for p in proposals if p.duplicate_of is None and p.title not in tracked]
    repeats = [(p, linked.get(p.duplicate_of)) for p in proposals if p.duplicate_of is not None]
    return fresh, repeats


def render_markdown(
    incident: Incident,
    *,
    similar: list[SimilarIncident],
    now: datetime,
    linked: dict[str, ActionItem] | None = None,
    blame: list[tuple[str, Finding]] | None = None,
    in_use: Analysis | None = None,
    recurred: dict[str, list[str]] | None = None,
) -> str:
    """The full post-mortem. `linked`: the open items that the draft's proposals repeat (`duplicate_of`), by id;
    `blame`: the blameless-language findings in the analysis, (where, finding), as the service rewrote them (by
    default the rule-based ones, from `analysis_parts`); `in_use`: the earlier accepted analysis that still feeds
    the knowledge base while the incident's latest one is a draft or was rejected; `recurred`: for a completed
    item, the incidents seen since it was completed (it did not hold)."""
    proposed, repeats = _action_items(incident, linked or {})
    if blame is None:
        blame = check_parts(analysis_parts(incident))
    return _render(
        "report.md.j2",
        blame=blame,
        category=category_summary(
            incident.category, incident.category_confidence, incident.category_source, incident.classifier_disagrees
        ),
        graph=causal_graph(incident),
        i=incident,
        timeline=folded(incident.timeline),
        a=incident.analysis,
        in_use=in_use,
        writer_note=quality_note(incident.analysis.llm_model) if incident.analysis else None,
        similar=similar,
        novelty=novelty(incident, similar),
        proposed=proposed,
        repeats=repeats,
        now=now,
        llm_category=incident.category in LLM_CATEGORIES,
        recurred=recurred or {},
    )


def review_outcome(incident: Incident, pattern: list[SimilarIncident], items: list[ActionItem]) -> list[Markdown]:
    """What the lightweight review concludes, most important first."""
    done = sum(a.status == "completed" for a in items)
    overdue = sum(a.overdue for a in items)
    if not pattern:
        return [Markdown("Not a known pattern: escalate to a full post-mortem.")]
    lines: list[str] = []
    undated = sum(a.status == "completed" and a.completed_at is None for a in items)
    fixed = bool(items) and done == len(items)
    if incident.recurred_after_fix or (fixed and not undated and _back_after_fix(incident, items)):
        lines.append(
            "**Recurred after fix:** every item on this pattern is completed and the failure came back. "
            "Escalate to a full post-mortem: the fix did not hold."
        )
    elif fixed and undated:
        lines.append(
            f"Every item on this pattern is completed, but the completion date of {counted(undated, 'item')} is not "
            "recorded: whether this failure came back after the fix cannot be told."
        )
    if not items:
        lines.append("No action items on this pattern: add them (add_action_item) or escalate to a full post-mortem.")
    if overdue:
        lines.append(f"{counted(overdue, 'item')} overdue: agree a new date with their owners or re-prioritise.")
    if not lines:
        lines.append(
            f"Known pattern, {done} of {counted(len(items), 'item')} completed and none overdue: "
            "record this incident against the pattern and resolve it."
        )
    return [Markdown(line) for line in lines]  # server-authored Markdown


def _back_after_fix(incident: Incident, items: list[ActionItem]) -> bool:
    """Whether the incident was seen, or reopened after being resolved, after the last item was completed: the first
    incident of a pattern, fixed after it, is no recurrence (as fix_effectiveness counts it). For items whose
    completion dates are all known: with one unknown, when the fix landed is not known (`review_outcome`)."""
    closed, status = max(a.completed_at for a in items if a.completed_at is not None), None
    if max(incident.created_at, incident.last_seen_at or incident.created_at) > closed:
        return True
    for event in sorted(incident.timeline, key=lambda e: e.at):
        reopen = event.kind == "note" and (event.description == "Reopened." or event.description.startswith(REOPENED))
        if reopen and status == "resolved" and event.at > closed:
            return True
        status = event.kind if event.kind in ("resolved", "mitigated") or reopen else status
    return False


def render_review(
    incident: Incident,
    *,
    pattern: list[SimilarIncident],
    items: list[ActionItem],
    same_signature: set[str],
    now: datetime,
) -> str:
    """The lightweight review of a capture that matched a known pattern: is it the pattern, are its items moving."""
    return _render(
        "review.md.j2",
        i=incident,
        pattern=sorted(pattern, key=lambda s: -s.score),  # the question is how close in meaning: closest first
        items=items,
        same_signature=same_signature,
        done=sum(a.status == "completed" for a in items),
        overdue=sum(a.overdue for a in items),
        outcome=review_outcome(incident, pattern, items),
        threshold=NOVELTY_THRESHOLD,
        now=now,
    )


def render_runbook(entry: RunbookEntry) -> str:
    return _render("runbook.md.j2", r=entry)
