"""Every LLM prompt is a template file here; `render` is the one entry point. Rendering is pure:
the caller passes every value, including `now` and the delimiter nonce."""

import re
import unicodedata
from pathlib import Path
from typing import Any

import jinja2

PROMPT_VERSION = "draft-v2"

_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent),
    undefined=jinja2.StrictUndefined,
    keep_trailing_newline=True,
    autoescape=False,
    trim_blocks=True,
    lstrip_blocks=True,
)
_DELIMITER = re.compile(r"<+\s*/?\s*(DATA|END)[-_ ]?[0-9a-fA-F]*\s*>+", re.IGNORECASE)


def strip_invisible(text: str) -> str:
    """Drop characters a reader cannot see but a model reads: zero-width and joiner characters, bidi controls,
    Unicode tag characters (the "ASCII smuggling" block) and other format characters (category Cf)."""
    return "".join(c for c in text if unicodedata.category(c) != "Cf")


def neutralize(text: object) -> str:
    """Untrusted text as prompt data: no invisible characters, and delimiter look-alikes defused so that it
    cannot open or close a data block."""
    return _DELIMITER.sub("[delimiter removed]", strip_invisible("" if text is None else str(text)))


_env.filters["untrusted"] = neutralize


def render(name: str, **context: Any) -> str:
    return _env.get_template(f"{name}.md.j2").render(**context)
