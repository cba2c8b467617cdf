"""Every LLM prompt is a template file here; `render` is the one entry point. Rendering is pure:
the caller passes every value, including `now` and the delimiter nonce."""

from pathlib import Path
from typing import Any

import jinja2

from agent_postmortem.prompts.untrusted import neutralize

__all__ = ["PROMPT_VERSION", "neutralize", "render"]

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


def render(name: str, **context: Any) -> str:
    return _env.get_template(f"{name}.md.j2").render(**context)
