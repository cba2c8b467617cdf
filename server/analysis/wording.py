"""Counts in words: "1 new incident", "3 new incidents" (a count of 1 with a plural noun reads as a slip)."""


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """`n` and `noun`, in the plural (`plural`, or `noun` + "s") unless `n` is 1: `counted(1, "run")` is "1 run"."""
    return f"{n} {noun if n == 1 else plural or noun + 's'}"
