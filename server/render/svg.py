"""The few SVG primitives the graph and the charts share. Every piece of text goes through `text()`, which escapes
it for XML (and HTML) and drops the control characters XML cannot hold; every number is formatted here."""

import re
import textwrap

from markupsafe import Markup, escape

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff]")
FONT = 12  # px; the width of a character is estimated at 0.6 of it (no font metrics on the server)
CHAR_W = FONT * 0.6
# Every bar and swatch is outlined: the light colours of the palette (orange, sky blue, yellow) are under 3:1 against
# the white card, which a shape that carries meaning needs (WCAG 1.4.11); the outline is 16:1.
OUTLINE = "#1f2937"


def clean(value: object) -> str:
    return _CONTROL.sub(" ", str(value))


def esc(value: object) -> Markup:
    """Text escaped for an XML text node or a quoted attribute."""
    return escape(clean(value))


def num(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def wrap(label: str, width: int, lines: int) -> list[str]:
    """`label` in at most `lines` lines of `width` characters, the last cut with an ellipsis."""
    parts = textwrap.wrap(" ".join(clean(label).split()), width, break_long_words=True) or [""]
    if len(parts) > lines:
        parts = parts[:lines]
        parts[-1] = parts[-1][: width - 1].rstrip() + "…"
    return parts


def text(x: float, y: float, value: object, *, anchor: str = "start", size: int = FONT, cls: str = "") -> str:
    klass = f' class="{cls}"' if cls else ""
    return f'<text x="{num(x)}" y="{num(y)}" font-size="{size}" text-anchor="{anchor}"{klass}>{esc(value)}</text>'


def rect(x: float, y: float, w: float, h: float, fill: str, *, title: str | None = None, rx: float = 0) -> str:
    inner = f"<title>{esc(title)}</title>" if title is not None else ""
    shape = f'x="{num(x)}" y="{num(y)}" width="{num(max(w, 0))}" height="{num(max(h, 0))}" fill="{fill}"'
    shape += f' stroke="{OUTLINE}" stroke-width="0.75"'
    corner = f' rx="{num(rx)}"' if rx else ""
    return f"<rect {shape}{corner}>{inner}</rect>" if inner else f"<rect {shape}{corner}/>"


def svg(width: float, height: float, body: list[str], *, label: str) -> Markup:
    """An inline SVG element, sized by its viewBox (it scales down with the page), labelled for screen readers."""
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {num(width)} {num(height)}" width="{num(width)}" '
        f'height="{num(height)}" role="img" aria-label="{esc(label)}" font-family="sans-serif">'
    )
    return Markup(head + f"<title>{esc(label)}</title>" + "".join(body) + "</svg>")
