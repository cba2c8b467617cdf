"""Render an incident as a blameless post-mortem in Markdown (a pure function of its inputs)."""

import re
from datetime import datetime
from pathlib import Path

import jinja2

from server.blameless import Finding, check_blameless
from server.classify import NOVELTY_THRESHOLD
from server.learn import RunbookEntry
from store.models import LLM_CATEGORIES, ActionItem, Incident, SimilarIncident

_IMAGE = re.compile(r"!\[")
_LINK_SCHEME = re.compile(r"\]\(\s*(javascript|data|vbscript):", re.IGNORECASE)


def md(text: object) -> str:
    """Incident text rendered as inert Markdown: no raw HTML, no images that load remote content, no script links."""
    value = str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    value = _IMAGE.sub(r"!\\[", value)
    return _LINK_SCHEME.sub("](blocked:", value)


def _code(text: object) -> str:
    return str(text).replace("`", "'")


def _cell(text: object) -> str:
    """Text safe inside a Markdown table cell."""
    return " ".join(str(text).split()).replace("|", "\\|")


def _ts(value: datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC")


_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
    undefined=jinja2.StrictUndefined,
    autoescape=False,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)
_env.filters.update(md=md, code=_code, ts=_ts, cell=_cell)


def _mermaid_label(text: str) -> str:
    """Text inside a quoted Mermaid label: entity-encoded, so it cannot end the label or add a directive."""
    short = " ".join(text.split())
    short = short if len(short) <= 80 else short[:79] + "…"
    for char, entity in (("&", "#amp;"), ('"', "#quot;"), ("<", "#lt;"), (">", "#gt;"), ("`", "#96;")):
        short = short.replace(char, entity)
    return short


def _node_key(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9]+", text.lower()))


def causal_graph(incident: Incident) -> str | None:
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
    return "\n".join(lines)


def _analysis_findings(incident: Incident) -> list[tuple[str, Finding]]:
    """Blameless-language findings in the analysis: (where, finding)."""
    a = incident.analysis
    if a is None:
        return []
    parts = [(f"why {n}", f"{w.question} {w.answer}") for n, w in enumerate(a.whys, start=1)]
    parts += [("root cause", a.root_cause), ("model behavior", a.model_behavior or "")]
    parts += [(f"factor {n}", f"{f.factor} {f.effect}") for n, f in enumerate(a.contributing_factors, start=1)]
    return [(where, f) for where, text in parts for f in check_blameless(text).findings]


def render_markdown(incident: Incident, *, similar: list[SimilarIncident], now: datetime) -> str:
    text = _env.get_template("report.md.j2").render(
        blame=_analysis_findings(incident),
        graph=causal_graph(incident),
        i=incident,
        a=incident.analysis,
        similar=similar,
        now=now,
        llm_category=incident.category in LLM_CATEGORIES,
    )
    return re.sub(r"\n{3,}", "\n\n", text)


def review_outcome(incident: Incident, pattern: list[SimilarIncident], items: list[ActionItem]) -> list[str]:
    """What the lightweight review concludes, most important first."""
    done = sum(a.status == "completed" for a in items)
    overdue = sum(a.overdue for a in items)
    if not pattern:
        return ["Not a known pattern: escalate to a full post-mortem."]
    lines = []
    if incident.recurred_after_fix or (items and done == len(items)):
        lines.append(
            "**Recurred after fix:** every item on this pattern is completed and the failure came back. "
            "Escalate to a full post-mortem: the fix did not hold."
        )
    if not items:
        lines.append("No action items on this pattern: add them (add_action_item) or escalate to a full post-mortem.")
    if overdue:
        lines.append(f"{overdue} item(s) overdue: agree a new date with their owners or re-prioritise.")
    if not lines:
        lines.append(
            f"Known pattern, {done} of {len(items)} items completed and none overdue: "
            "record this incident against the pattern and resolve it."
        )
    return lines


def render_review(
    incident: Incident,
    *,
    pattern: list[SimilarIncident],
    items: list[ActionItem],
    same_signature: set[str],
    now: datetime,
) -> str:
    """The lightweight review of a capture that matched a known pattern: is it the pattern, are its items moving."""
    text = _env.get_template("review.md.j2").render(
        i=incident,
        pattern=pattern,
        items=items,
        same_signature=same_signature,
        done=sum(a.status == "completed" for a in items),
        overdue=sum(a.overdue for a in items),
        outcome=review_outcome(incident, pattern, items),
        threshold=NOVELTY_THRESHOLD,
        now=now,
    )
    return re.sub(r"\n{3,}", "\n\n", text)


def render_runbook(entry: RunbookEntry) -> str:
    return re.sub(r"\n{3,}", "\n\n", _env.get_template("runbook.md.j2").render(r=entry))
