"""Numbers in words: counts ("1 new incident", "3 new incidents": a count of 1 with a plural noun reads as a slip), a
percentage with its digits, and a number below a threshold (a similarity, a bound on a rate) never rounded up to it."""

import math


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """`n` and `noun`, in the plural (`plural`, or `noun` + "s") unless `n` is 1: `counted(1, "run")` is "1 run"."""
    return f"{n} {noun if n == 1 else plural or noun + 's'}"


def percent(x: float, digits: int = 2) -> str:
    """A fraction as a percentage with its digits: 1.00%, and 0.0001% for 1e-6 (not 0.00%); below 1e-4, `digits`
    significant digits in plain decimals (9.6e-7 is 0.000096%, not 9.6e-05%)."""
    return f"{x:.2%}" if x == 0 or x >= 1e-4 else f"{significant(x * 100, digits)}%"


def significant(x: float, digits: int) -> str:
    """`x` to `digits` significant digits as a plain decimal, never in scientific notation: 0.000096, not 9.6e-05."""
    if x == 0:
        return "0"
    text = f"{float(f'{x:.{digits}g}'):.{max(0, digits - 1 - math.floor(math.log10(abs(x))))}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def short_of(x: float, threshold: float, *, as_percent: bool = False) -> str:
    """`x`, below `threshold`, as a number that reads below it: to two decimals (`as_percent`: as `percent` gives it)
    unless that would read as the threshold; then cut, not rounded, to three decimals, or to as many more as show it
    below and above zero. So a similarity of 0.7188 under 0.72 is "0.718" ("at 0.72, below 0.72" contradicted
    itself), 0 failures in 381 runs bound the rate at "0.998%", not "1.00%" under a target of 1%, and in 3,850,000 at
    "0.00009%" under a target of 0.0001%, not "0.000%"."""
    scale, unit = (100, "%") if as_percent else (1, "")
    text = percent(x) if as_percent else f"{x:.2f}"
    if float(text.removesuffix(unit)) / scale < threshold:
        return text
    for places in range(3, CUT_PLACES + 1):
        text = f"{math.floor(x * scale * 10**places) / 10**places:.{places}f}{unit}"
        if 0 < float(text.removesuffix(unit)) / scale < threshold:
            break
    return text


CUT_PLACES = 8  # the most decimals a number below its threshold is cut to
