"""Render an incident as a blameless post-mortem in Markdown (a pure function of its inputs)."""

import re
from datetime import datetime
from pathlib import Path

import jinja2

from server.blameless import Finding, check_blameless
from store.models import LLM_CATEGORIES, Incident, SimilarIncident

_IMAGE = re.compile(r"!\[")
_LINK_SCHEME = re.compile(r"\]\(\s*(javascript|data|vbscript):", re.IGNORECASE)


def md(text: object) -> str:
    """Incident text rendered as inert Markdown: no raw HTML, no images that load remote content, no script links."""
    value = str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    value = _IMAGE.sub(r"!\\[", value)
    return _LINK_SCHEME.sub("](blocked:", value)


def _code(text: object) -> str:
    return str(text).replace("`", "'")


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
_env.filters.update(md=md, code=_code, ts=_ts)


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
        i=incident,
        a=incident.analysis,
        similar=similar,
        now=now,
        llm_category=incident.category in LLM_CATEGORIES,
    )
    return re.sub(r"\n{3,}", "\n\n", text)
