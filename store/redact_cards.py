"""Card numbers: no pattern finds them, so a scan over runs of digit groups does, keeping the stretches whose length,
grouping and Luhn check digit make a card (the `credit_card` kind of `redact`)."""

import re
from collections.abc import Iterator

_DIGIT_RUN = re.compile(r"(?<![\w-])\d+(?:[ -]\d+)*(?![\w-])", re.ASCII)
_DIGITS = re.compile(r"\d+", re.ASCII)


def luhn(digits: str) -> bool:
    total, parity = 0, len(digits) % 2
    for i, ch in enumerate(digits):
        d = int(ch)
        if i % 2 == parity:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def card_spans(text: str) -> Iterator[tuple[int, int]]:
    """Luhn-valid card numbers (13-19 digits, one group or several) inside any run of digit groups, so that a card
    right after another number (`order 48213 4111 1111 1111 1111`) is still found: the longest valid stretch of
    whole groups, leftmost first."""
    for run in _DIGIT_RUN.finditer(text):
        groups = list(_DIGITS.finditer(run.group(0)))
        parts = [g.group(0) for g in groups]
        i = 0
        while i < len(parts):
            last = _longest_card(parts, i)
            if last is None:
                i += 1
                continue
            yield run.start() + groups[i].start(), run.start() + groups[last].end()
            i = last + 1


def _card_shaped(lengths: list[int]) -> bool:
    """One group, or the groups cards are printed in: fours (the last shorter), or 4-6-5 / 4-6-4."""
    return len(lengths) == 1 or lengths in ([4, 6, 5], [4, 6, 4]) or all(n == 4 for n in lengths[:-1])


def _longest_card(parts: list[str], first: int) -> int | None:
    if len(parts[first]) != 4 and not 13 <= len(parts[first]) <= 19:  # a card starts with four digits, or is one group
        return None
    for last in range(min(len(parts), first + 5) - 1, first - 1, -1):  # at most five groups, the longest first
        lengths = [len(p) for p in parts[first : last + 1]]
        if 13 <= sum(lengths) <= 19 and _card_shaped(lengths):
            number = "".join(parts[first : last + 1])
            if len(set(number)) > 1 and luhn(number):
                return last
    return None
