"""`postmortem bench redaction`: recall per secret/PII kind and false positives on benign look-alikes, on a seeded
synthetic corpus (the data is in `agent_postmortem.evals.redaction_corpus`).

A planted value counts as caught when no 8-character stretch of it (of its secret parts, for an armoured key) is
left in the redacted text, read through the invisible characters and escapes the trick inserted, and redacting
again changes nothing. A benign text counts as a false positive when it comes back altered.
"""

import random
import time
from collections import Counter
from typing import Any

from agent_postmortem.evals.redaction_corpus import (
    BENIGN,
    BENIGN_CARRIERS,
    HELD_OUT_TRICKS,
    INSERTED,
    INSERTED_ESCAPES,
    KINDS,
    NUMBER_TRICKS,
    TRICKS,
    Trick,
)
from agent_postmortem.store.redact import redact_text

TARGETS = {"recall_secret": 0.99, "recall_pii": 0.95, "false_positive_rate": 0.02}
WINDOW = 8
Case = tuple[str, str, str, list[str]]  # (label: a kind or a trick, kind, text, parts that must vanish)


def cases(seed: int = 0, per_kind: int = 80, *, held_out: bool = False) -> list[Case]:
    """Each kind's values planted in its carriers (cycled), deterministic for a seed."""
    rng = random.Random(seed)
    out = []
    for name, kind in KINDS.items():
        carriers = kind.held_out if held_out else kind.carriers
        for i in range(per_kind):
            value = kind.make(rng)
            out.append((name, name, carriers[i % len(carriers)].format(v=value), kind.parts(value)))
    return out


def trick_cases(tricks: dict[str, Trick], seed: int = 0, per_kind: int = 10) -> list[Case]:
    """Each trick applied to every kind in its first carrier; the case's label is the trick's name."""
    rng = random.Random(seed)
    out = []
    for trick_name, trick in tricks.items():
        for name, kind in KINDS.items():
            if kind.keyed and trick_name in NUMBER_TRICKS:
                continue
            for _ in range(per_kind):
                value = kind.make(rng)
                out.append((trick_name, name, trick(kind.carriers[0], value, rng, kind.keyed), kind.parts(value)))
    return out


def look_alikes(seed: int = 0, n: int = 2_400) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    names = sorted(BENIGN)
    out = []
    for i in range(n):
        which = rng.choice(names)
        out.append((which, BENIGN_CARRIERS[i % len(BENIGN_CARRIERS)].format(v=BENIGN[which](rng))))
    return out


def _visible(text: str) -> str:
    for escape in INSERTED_ESCAPES:
        text = text.replace(escape, "")
    return "".join(c for c in text if c not in INSERTED).replace("\\\\", "\\")


def leaked(redacted: str, parts: list[str]) -> bool:
    seen = _visible(redacted)
    for part in parts:
        width = min(WINDOW, len(part))
        if any(part[i : i + width] in seen for i in range(len(part) - width + 1)):
            return True
    return False


def recall(rows: list[Case]) -> dict[str, Any]:
    caught: Counter[str] = Counter()
    totals: Counter[str] = Counter()
    missed: dict[str, set[str]] = {}
    examples: dict[str, str] = {}
    for label, kind, text, parts in rows:
        redacted, _ = redact_text(text)
        ok = not leaked(redacted, parts) and redact_text(redacted)[0] == redacted
        totals[label] += 1
        caught[label] += ok
        if not ok:
            missed.setdefault(label, set()).add(kind)
            examples.setdefault(f"{label}/{kind}", redacted[:300])
    return {
        "cases": len(rows),
        "recall": round(sum(caught.values()) / max(1, len(rows)), 4),
        "recall_per_kind": {k: round(caught[k] / totals[k], 3) for k in totals},
        "missed_kinds": {k: sorted(v) for k, v in missed.items() if v != {k}},
        "missed_examples": dict(list(examples.items())[:12]),
    }


def _grouped(result: dict[str, Any]) -> dict[str, Any]:
    per_kind = result["recall_per_kind"]
    for group in ("secret", "pii"):
        values = [v for k, v in per_kind.items() if k in KINDS and KINDS[k].group == group]
        result[f"min_recall_{group}"] = min(values) if values else None
    return result


def false_positives(texts: list[tuple[str, str]]) -> dict[str, Any]:
    altered: Counter[str] = Counter()
    totals: Counter[str] = Counter()
    examples = []
    for which, text in texts:
        totals[which] += 1
        redacted = redact_text(text)[0]
        if redacted != text:
            altered[which] += 1
            examples.append(f"{text} -> {redacted}")
    return {
        "look_alikes": len(texts),
        "false_positive_rate": round(sum(altered.values()) / max(1, len(texts)), 4),
        "false_positive_rate_per_look_alike": {k: round(altered[k] / totals[k], 3) for k in sorted(altered)},
        "false_positive_examples": examples[:8],
    }


def run(seed: int = 0, per_kind: int = 80, benign: int = 2_400) -> dict[str, Any]:
    started = time.perf_counter()
    tuned = _grouped(recall(cases(seed, per_kind)))
    held = _grouped(recall(cases(seed + 1, per_kind, held_out=True)))
    tricks = recall(trick_cases(TRICKS, seed + 2))
    held_tricks = recall(trick_cases(HELD_OUT_TRICKS, seed + 3))
    fp = false_positives(look_alikes(seed, benign))
    texts = sum(r["cases"] for r in (tuned, held, tricks, held_tricks)) + fp["look_alikes"]
    return {
        "seed": seed,
        "kinds": len(KINDS),
        "targets": TARGETS,
        "meets_targets": (
            tuned["min_recall_secret"] >= TARGETS["recall_secret"]
            and tuned["min_recall_pii"] >= TARGETS["recall_pii"]
            and fp["false_positive_rate"] <= TARGETS["false_positive_rate"]
        ),
        "carriers_written_with_the_rules": tuned,
        "held_out_carriers": held,
        "tricks_from_the_issue": tricks,
        "held_out_tricks": held_tricks,
        "look_alikes": fp,
        "ms_per_text": round(1000 * (time.perf_counter() - started) / texts, 3),
    }
