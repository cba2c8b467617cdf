"""How every `postmortem` command prints: a human view by default, JSON on stdout with `--json`.

Stored text (titles, descriptions, agent output, LLM drafts) is printed as text: it never goes through Rich markup
(`[/bold]` in a title would raise, `[link=…]` would become a hyperlink, `[reference removed]` would vanish), and
its control characters are made visible (`\\x1b` instead of ESC) so that no stored byte can drive the terminal:
move the cursor, clear the screen or write the clipboard (OSC 52). Views build their output with `line()`,
`cell()`, `table()` and `fields()` (Rich `Text` objects, which are never parsed as markup), or print with `write()`;
styles come only from the views' own `(value, style)` pieces.
"""

import json
import re
import sys
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:
    from pathlib import Path

    from pydantic import BaseModel


class _Stdout:
    """sys.stdout (looked up on each write) written in pieces. A single huge write to a pipe whose reader went away
    can end without an error (the kernel takes the first 64 KiB, and the rest is lost without a word), so `| head`
    would go unnoticed; a write of a piece fails as it should."""

    PIECE = 16_384

    def write(self, text: str) -> int:
        for start in range(0, len(text), self.PIECE):
            sys.stdout.write(text[start : start + self.PIECE])
        return len(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(sys.stdout, name)


class _Console(Console):
    def on_broken_pipe(self) -> None:
        """Rich exits with 1 here; the root command ends quietly with 141 instead, as for any write (cli/app.py)."""
        self.quiet = True
        raise BrokenPipeError


out = _Console(file=_Stdout(), emoji=False, highlight=False)  # type: ignore[arg-type]
err = _Console(stderr=True, emoji=False, highlight=False, soft_wrap=True)  # an error stays one line for grep
JsonOpt = Annotated[bool, typer.Option("--json", help="machine-readable JSON on stdout instead of the human view")]

# C0 controls except tab and newline, DEL, C1 controls, and the bidirectional overrides and isolates that can make
# text read differently from what it is ("Trojan Source").
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
# In JSON, C0 controls are escaped already; DEL, C1 and the bidi controls may legally appear raw in strings.
_JSON_RAW = re.compile("[\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(value: object) -> str:
    """The text with every control character shown as an escape (`\\x1b`), tabs and newlines kept."""
    return _CONTROLS.sub(_escape, str(value))


def cell(value: object, *, style: str = "", empty: str = "-") -> Text:
    """Stored text as a table cell or a piece of a line: literal, controls visible, never markup."""
    shown = empty if value is None or value == "" else visible(value)
    return Text(shown, style=style)


def line(*parts: object) -> Text:
    """A line of literal pieces; a `(value, style)` tuple is a styled piece. No piece is parsed as markup."""
    text = Text()
    for part in parts:
        value, style = part if isinstance(part, tuple) else (part, "")
        text.append("" if value is None else visible(value), style=style)
    return text


def table(*columns: str, rows: Iterable[Iterable[object]], title: str | None = None) -> Table:
    """A table whose every value is shown by `cell` (stored text stays text)."""
    shown = Table(*columns, title=title)
    for row in rows:
        shown.add_row(*(value if isinstance(value, Text) else cell(value) for value in row))
    return shown


def hanging(prefix: str, *parts: object) -> Table:
    """`prefix` then the line of `parts` (as `line` makes it), whose every wrapped line starts under its first: a why
    or a factor wrapped in 80 columns went on at the left edge, under its number."""
    grid = Table.grid()
    grid.add_column(no_wrap=True)
    grid.add_column()
    grid.add_row(prefix, line(*parts))
    return grid


def fields(pairs: Iterable[tuple[str, object]], *, title: str | None = None) -> Table:
    """A two-column view of labelled values, for one record."""
    grid = Table.grid(padding=(0, 2))
    grid.title = title
    grid.add_column(style="bold")
    grid.add_column()
    for label, value in pairs:
        grid.add_row(cell(label), value if isinstance(value, Text) else cell(value))
    return grid


def flatten(data: Mapping[str, Any], prefix: str = "") -> list[tuple[str, object]]:
    """`{"a": {"b": 1}}` -> `[("a.b", 1)]`; lists of scalars joined, lists of records counted."""
    pairs: list[tuple[str, object]] = []
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            pairs += flatten(value, name + ".") or [(name, "-")]
        elif isinstance(value, list) and any(isinstance(v, Mapping | list) for v in value):
            pairs.append((name, f"{len(value)} records (--json shows them)"))
        elif isinstance(value, list):
            pairs.append((name, ", ".join(str(v) for v in value) or "-"))
        else:
            pairs.append((name, value))
    return pairs


def json_safe(text: str) -> str:
    """JSON text with the control characters that JSON allows raw inside strings escaped (`\\u009b`): the same
    JSON, and nothing in it can drive a terminal."""
    return _JSON_RAW.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def as_json(data: "BaseModel | Mapping[str, Any] | list[Any]") -> str:
    if isinstance(data, Mapping | list):
        return json_safe(json.dumps(data, indent=2, ensure_ascii=False, default=str))
    return json_safe(data.model_dump_json(indent=2))


def emit(data: "BaseModel | Mapping[str, Any] | list[Any]", json_wanted: bool) -> bool:
    """Print JSON when asked; return True when done so the caller can skip its human rendering."""
    if json_wanted:
        _Stdout().write(as_json(data) + "\n")
    return json_wanted


def show_record(data: "BaseModel | Mapping[str, Any]", json_wanted: bool, *, title: str | None = None) -> None:
    """JSON with --json, else the generic human view: every (nested) field on its own line."""
    if emit(data, json_wanted):
        return
    mapping = data if isinstance(data, Mapping) else data.model_dump(mode="json")
    out.print(fields(flatten(mapping), title=title))


def write(text: str) -> None:
    """Plain text (Markdown) to stdout, as it is but for control characters, made visible."""
    _Stdout().write(visible(text))


def write_json(text: str) -> None:
    """JSON (or JSONL) text to stdout, through `json_safe`."""
    _Stdout().write(json_safe(text))


def deliver(data: "BaseModel | Mapping[str, Any]", text: str, output: "Path | None", json_wanted: bool) -> None:
    """A rendered result where it was asked for: its JSON instead of `text` with --json, written to the file `-o`
    names (private, as an export: it holds incident text; "wrote FILE" said on stderr), else on stdout. With both,
    the JSON went to stdout and the file was not written (or got the text)."""
    from agent_postmortem.store.private import write_output

    if output is None:
        if not emit(data, json_wanted):
            write(text)
        return
    write_output(output, as_json(data) + "\n" if json_wanted else text)
    err.print(f"wrote {output}", markup=False)
