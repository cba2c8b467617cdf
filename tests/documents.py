"""Checks on rendered documents that several test modules share: Markdown parsed as a renderer with HTML on sees it
(markdown-it), its structure and whatever would be live in it, a section's list items, and snapshots of rendered text
(regenerate after an intended change with UPDATE_SNAPSHOTS=1)."""

import os

from markdown_it import MarkdownIt
from markdown_it.token import Token

from tests.factories import SNAPSHOTS

MD = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])
MD.validateLink = lambda url: True  # type: ignore[method-assign]  # so that a javascript: link shows as a link

OWN_LINK = ("report://", "review://", "runbook://", "incident://")


def _tokens(text: str) -> list[Token]:
    found = []
    for token in MD.parse(text):
        found.append(token)
        found += token.children or []
    return found


def structure(text: str) -> list[tuple[object, ...]]:
    """Every token but the text inside an inline run: headings, lists (and their tightness), tables, code blocks,
    links, emphasis."""
    return [
        (t.type, t.tag, t.nesting, t.level, t.hidden, t.info)
        for t in _tokens(text)
        if t.type not in ("text", "softbreak", "hardbreak")
    ]


def live(text: str) -> list[str]:
    """What a renderer with HTML on would make active: raw HTML, images, links anywhere but our own resources."""
    bad = []
    for t in _tokens(text):
        if t.type in ("html_block", "html_inline", "image"):
            bad.append(t.type)
        if t.type == "link_open" and not str(t.attrGet("href")).startswith(OWN_LINK):
            bad.append(f"link to {t.attrGet('href')}")
    return bad


def section(text: str, heading: str) -> list[Token]:
    """The tokens of a `## heading` section, up to the next heading of the same level (markdown-it, HTML on)."""
    tokens = MD.parse(text)
    start = next(n for n, t in enumerate(tokens) if t.type == "inline" and t.content == heading) + 2
    end = next((n for n in range(start, len(tokens)) if tokens[n].type == "heading_open"), len(tokens))
    return tokens[start:end]


def items_of(tokens: list[Token]) -> list[str]:
    """The text of each top-level list item, as a reader sees it."""
    runs = [tokens[n + 2] for n, t in enumerate(tokens) if t.type == "list_item_open" and t.level == 1]
    return ["".join(c.content for c in run.children or []) for run in runs]


def check(name: str, text: str) -> None:
    path = SNAPSHOTS / f"{name}.txt"
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8")
