"""JSON from outside (an import file's lines, an OTLP body) parsed with a nesting limit.

The standard parser recurses: a line of 5,000 `[` raises RecursionError, and a document just shallow enough to
parse would still recurse in the code that walks it. The depth is counted first, on brackets outside strings,
so an over-deep document is refused with one clear message before anything recurses. Messages never quote the
input (it may hold a secret)."""

import json
import re
from typing import Any

MAX_DEPTH = 100  # OTLP's deepest real shape (nested attribute values) stays far below this
_TOKENS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]')  # a whole string, or a bracket outside strings


class JsonInputError(ValueError):
    """Not JSON, or nested deeper than the limit; the message says which, never the content. `line` and `column`
    say where a syntax error is (`line` is None when the document is refused as a whole)."""

    def __init__(self, message: str, *, line: int | None = None, column: int | None = None, reason: str = "") -> None:
        super().__init__(message)
        self.line, self.column, self.reason = line, column, reason or message


def nesting(text: str) -> int:
    """The deepest nesting of arrays and objects (brackets inside strings do not count)."""
    depth = deepest = 0
    for match in _TOKENS.finditer(text):
        char = match.group()
        if char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def loads(data: str | bytes, *, max_depth: int = MAX_DEPTH) -> Any:
    """`json.loads` that refuses documents nested deeper than `max_depth` and invalid UTF-8 as JsonInputError."""
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
    except UnicodeDecodeError:
        raise JsonInputError("not valid UTF-8") from None
    if nesting(text) > max_depth:
        raise JsonInputError(f"nested more than {max_depth} levels deep")
    try:
        return json.loads(text, parse_constant=_no_constant)
    except json.JSONDecodeError as e:
        where = f"column {e.colno}" if e.lineno == 1 else f"line {e.lineno} column {e.colno}"
        reason = e.msg.removesuffix(" at")  # "Invalid control character at" said "at at column 60"
        raise JsonInputError(f"not JSON: {reason} at {where}", line=e.lineno, column=e.colno, reason=reason) from None
    except JsonInputError:
        raise
    except ValueError:  # an integer of more than 4,300 digits
        raise JsonInputError("not JSON: a number is too long") from None


def _no_constant(name: str) -> Any:
    raise JsonInputError(f"not JSON: {name} is not a JSON value")
