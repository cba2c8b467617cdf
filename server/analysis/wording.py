"""Numbers in words: counts ("1 new incident", "3 new incidents": a count of 1 with a plural noun reads as a slip) and a
similarity below a threshold (never rounded up to it)."""

import math


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """`n` and `noun`, in the plural (`plural`, or `noun` + "s") unless `n` is 1: `counted(1, "run")` is "1 run"."""
    return f"{n} {noun if n == 1 else plural or noun + 's'}"


def short_of(score: float, threshold: float) -> str:
    """A score below `threshold`, to two decimals unless they would read as the threshold: then cut (not rounded) to
    three, so 0.7188 under 0.72 is "0.718" ("at 0.72, below 0.72" contradicted itself)."""
    text = f"{score:.2f}"
    return text if float(text) < threshold else f"{math.floor(score * 1000) / 1000:.3f}"
