"""Secrets found once, replaced wherever else they are: a password named in one line ("password: hunter2hunter2")
and bare in another, or in another field of the same record (the title)."""

import re
from collections import Counter
from collections.abc import Sequence
from typing import Any

PLACEHOLDER = "[REDACTED:{}]"
PLACEHOLDER_PATTERN = re.compile(r"\[REDACTED:[a-z_0-9]+\]")


def replaced(text: str, values: Sequence[tuple[str, str]], counts: Counter[str]) -> str:
    """The text with each value found replaced by its placeholder, counted."""
    for value, kind in values:
        if value in text:
            counts[kind] += text.count(value)
            text = text.replace(value, PLACEHOLDER.format(kind))
    return text


def replaced_in(value: Any, found: Sequence[tuple[str, str]], counts: Counter[str]) -> Any:
    """A secret found in one field replaced in every other (a password named in the description, bare in the title)."""
    if isinstance(value, str):
        return replaced(value, found, counts)
    if isinstance(value, list):
        return [replaced_in(v, found, counts) for v in value]
    if isinstance(value, dict):
        return {k: replaced_in(v, found, counts) for k, v in value.items()}
    return value
