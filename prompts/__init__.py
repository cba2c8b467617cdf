"""Every LLM prompt is a template file here; `render` is the one entry point. Rendering is pure:
the caller passes every value, including `now` and the delimiter nonce."""

from pathlib import Path
from typing import Any

import jinja2

from agent_postmortem.prompts.untrusted import neutralize

__all__ = ["PROMPT_VERSION", "clip", "neutralize", "render", "tail"]

PROMPT_VERSION = "draft-v3"

_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent),
    undefined=jinja2.StrictUndefined,
    keep_trailing_newline=True,
    autoescape=False,
    trim_blocks=True,
    lstrip_blocks=True,
)
_env.filters["untrusted"] = neutralize


def tail(text: str, length: int) -> str:
    """The end of the text within about `length` characters, from a line's start when one is near, after a line
    saying how much is left out: a stack trace's last lines, where its exception is (Jinja's `truncate` keeps the
    start, the outermost frames)."""
    if len(text) <= length:
        return text
    end = text[-length:]
    newline = end.find("\n")
    end = end[newline + 1 :] if 0 <= newline < length // 2 else end
    return f"[{len(text) - len(end):,} earlier characters not shown]\n{end}"


def clip(text: str, length: int) -> str:
    """The start of the text within about `length` characters, at a word's end, and how much is left out: Jinja's
    `truncate` ended a 20,000-character description at 3,000 with "...", which reads as the writer's own ellipsis."""
    if len(text) <= length:
        return text
    start = text[:length]
    space = start.rfind(" ")
    start = start[:space] if space > length // 2 else start
    return f"{start} [{len(text) - len(start):,} more characters not shown]"


_env.filters["clip"] = clip
_env.filters["tail"] = tail


def render(name: str, **context: Any) -> str:
    return _env.get_template(f"{name}.md.j2").render(**context)
