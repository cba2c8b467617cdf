"""Every LLM prompt is a template file here; `render` is the one entry point. Rendering is pure:
the caller passes every value, including `now` and the delimiter nonce."""

from pathlib import Path
from typing import Any

import jinja2

from agent_postmortem.prompts.untrusted import neutralize

__all__ = ["PROMPT_VERSION", "neutralize", "render", "tail"]

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
    """The end of the text within `length` characters, from a line's start when one is near: a stack trace's last
    lines, where its exception is (Jinja's `truncate` keeps the start, the outermost frames)."""
    if len(text) <= length:
        return text
    end = text[-(length - 4) :]
    newline = end.find("\n")
    return "...\n" + (end[newline + 1 :] if 0 <= newline < length // 2 else end)


_env.filters["tail"] = tail


def render(name: str, **context: Any) -> str:
    return _env.get_template(f"{name}.md.j2").render(**context)
