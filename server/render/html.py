"""HTML output: a Jinja2 environment with autoescape on (separate from the prompts' and the Markdown report's,
which must not escape for HTML), and the post-mortem's Markdown turned into inert HTML.

The HTML post-mortem (the exported file, the web view's incident page) reuses the Markdown report, so the page, the
file and the MCP resources say the same thing. That Markdown already escapes every stored value (render/markdown.py,
property-tested); it is
rendered here by markdown-it with raw HTML off, images off, and links kept only to this server's own resources
(`report://INC-4` becomes the incident's page, or plain text in an exported file) or to http(s)/mailto. The Mermaid
block is replaced by the causal graph drawn as SVG on the server."""

import re
from collections.abc import Callable, Sequence
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
from markdown_it import MarkdownIt
from markdown_it.renderer import RendererHTML
from markdown_it.rules_core import StateCore
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict
from markupsafe import Markup, escape

TEMPLATES = Path(__file__).parent / "templates"
OWN = re.compile(r"(?:report|review|runbook|incident)://([A-Za-z0-9_-]{1,80})")
SAFE_SCHEME = re.compile(r"(?:https?://|mailto:)", re.IGNORECASE)

LinkTo = Callable[[str], str | None]  # an own resource (report://INC-4) -> where it leads here, or None: no link


def ts(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return value.strftime(fmt) if value is not None else "–"


def html_environment(*folders: Path) -> jinja2.Environment:
    """Autoescaping templates from `folders`, then this package's (so other HTML can include its partials)."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader([*folders, TEMPLATES]),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["ts"] = ts
    return env


@cache
def environment() -> jinja2.Environment:
    return html_environment()


def allowed_link(url: str) -> bool:
    return bool(OWN.fullmatch(url) or SAFE_SCHEME.match(url))


def _links(link_to: LinkTo) -> Callable[[StateCore], None]:
    """A core rule: own-resource links lead where `link_to` says (or become plain text); others get rel=noreferrer."""

    def rule(state: StateCore) -> None:
        for block in state.tokens:
            kept: list[Token] = []
            dropped = 0
            for token in block.children or []:
                if token.type == "link_open":
                    href = str(token.attrGet("href") or "")
                    target = link_to(href) if OWN.fullmatch(href) else href
                    if target is None:
                        dropped += 1
                        continue
                    token.attrSet("href", target)
                    if not OWN.fullmatch(href):
                        token.attrSet("rel", "noopener noreferrer nofollow")
                elif token.type == "link_close" and dropped:
                    dropped -= 1
                    continue
                kept.append(token)
            if block.children is not None:
                block.children = kept

    return rule


LONG_WORD = 20  # a table cell holding a longer unbroken run (a URL, a token, a path) may break it anywhere
_LONG_RUN = re.compile(rf"\S{{{LONG_WORD + 1},}}")


def _long_cells(state: StateCore) -> None:
    """A core rule: a table cell with an unbroken run longer than LONG_WORD gets class `long`, which may break it
    anywhere (report.css), so one long title does not make the table wider than the page; ids, categories, dates
    and numbers stay whole."""
    tokens = state.tokens
    for cell, content in zip(tokens, tokens[1:], strict=False):
        if cell.type == "td_open" and content.type == "inline" and _LONG_RUN.search(content.content):
            cell.attrJoin("class", "long")


def _row_headers(state: StateCore) -> None:
    """A core rule: a table whose header cells are all empty (the report's `| | |` key/value summary) loses that
    header row, and the first cell of each row becomes the row's header (`<th scope="row">`), so a screen reader
    reads "Severity, SEV2" rather than cells under columns without a name."""
    tokens = state.tokens
    for start in reversed([i for i, t in enumerate(tokens) if t.type == "thead_open"]):
        end = next(i for i in range(start, len(tokens)) if tokens[i].type == "thead_close")
        if any(t.type == "inline" and t.content.strip() for t in tokens[start:end]):
            continue
        del tokens[start : end + 1]
        i = start
        while tokens[i].type != "table_close":
            if tokens[i].type == "tr_open":  # then td_open, inline, td_close: the row's first cell
                tokens[i + 1].tag = tokens[i + 3].tag = "th"
                tokens[i + 1].attrSet("scope", "row")
            i += 1


def _fence(self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType) -> str:
    token = tokens[idx]
    if token.info.strip() == "mermaid":
        graph = env.get("graph")
        return f'<figure class="graph">{graph}</figure>\n' if graph else ""
    return f"<pre><code>{escape(token.content)}</code></pre>\n"


def markdown_html(text: str, *, graph: Markup | None, link_to: LinkTo) -> Markup:
    """The report's Markdown as HTML: no raw HTML, no images, only allowed links; the Mermaid chart -> `graph`."""
    md = MarkdownIt("commonmark", {"html": False}).enable("table").disable("image")
    md.validateLink = allowed_link  # type: ignore[method-assign]
    md.core.ruler.push("own_links", _links(link_to))
    md.core.ruler.push("long_cells", _long_cells)
    md.core.ruler.push("row_headers", _row_headers)
    md.add_render_rule("fence", _fence)
    env: dict[str, Any] = {"graph": graph}
    return Markup(md.render(text, env))


def no_link(href: str) -> None:
    return None
