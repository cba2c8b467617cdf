"""`postmortem bench severity`: severity from scale against the human severities of the failure corpus.

On the rows of one split that carry a severity (GUIDE.md section 5), each report becomes a capture (its title
and text) and goes through the product's severity; the result is compared with the label: exact accuracy,
accuracy within one level (both with Wilson 95% intervals), the confusion matrix and the share of the most
frequent predicted level (a method that calls everything SEV3 looks good within one level). The rules that
production used before severity read scale (category and impact keywords) run on the same rows as the reference.
Thresholds were tuned on `train`; `test` holds sources the tuning never saw.
"""

import re
from collections import Counter
from pathlib import Path
from typing import Any

from agent_postmortem.analysis.classify import classify
from agent_postmortem.analysis.severity_policy import SeverityPolicy, assess
from agent_postmortem.analysis.verify import wilson
from agent_postmortem.evals.failure_corpus import CORPUS, SEVERITIES, load
from agent_postmortem.store.models import Category, IncidentCreate, Severity

Row = dict[str, Any]

_LEGACY_IMPACT: list[tuple[re.Pattern[str], Severity]] = [
    (re.compile(r"data (loss|leak)|breach|leaked|exposed (pii|personal|customer data)|secrets? (leak|expos)", re.I),
     "SEV1"),
    (re.compile(r"all (users|customers)|every (user|customer)|full outage|complete outage|revenue|\$\s?\d|"
                r"financial|legal|regulator", re.I), "SEV2"),
]  # fmt: skip


def legacy_severity(capture: IncidentCreate, category: Category) -> Severity:
    """The severity production computed before it read scale: a level per category, raised by impact keywords."""
    if category == Category.DATA_CORRUPTION:
        level: Severity = "SEV1"
    elif category in (Category.PROMPT_INJECTION, Category.BUSINESS_LOGIC):
        level = "SEV2"
    else:
        level = "SEV3" if capture.user_facing else "SEV4"
    for pattern, floor in _LEGACY_IMPACT:
        if capture.impact and pattern.search(capture.impact) and SEVERITIES.index(floor) < SEVERITIES.index(level):
            level = floor
    return "SEV3" if capture.customer_reported and level == "SEV4" else level


def capture_of(row: Row) -> IncidentCreate:
    """A corpus row as a capture: the report's title and its text, nothing the labeller added."""
    title = " ".join(str(row.get("title") or row["text"]).split())[:200] or "report"
    return IncidentCreate(title=title if len(title) >= 3 else "report", description=row["text"][:20_000])


def rate(hits: int, n: int) -> dict[str, Any]:
    w = wilson(n - hits, n)  # wilson() counts failures: the interval of the hit rate is its mirror
    return {"hits": hits, "n": n, "rate": round(hits / n, 3) if n else 0.0, "low": round(1 - w.high, 3),
            "high": round(1 - w.low, 3)}  # fmt: skip


def score(pairs: list[tuple[Severity, Severity]]) -> dict[str, Any]:
    """Accuracy, within-one accuracy, confusion matrix (label -> predicted -> count) and the modal predicted share."""
    n = len(pairs)
    exact = sum(p == t for t, p in pairs)
    near = sum(abs(SEVERITIES.index(p) - SEVERITIES.index(t)) <= 1 for t, p in pairs)
    predicted = Counter(p for _, p in pairs)
    level, count = predicted.most_common(1)[0] if pairs else ("SEV4", 0)
    return {
        "exact": rate(exact, n),
        "within_one": rate(near, n),
        "most_frequent_prediction": {"level": level, "share": round(count / n, 3) if n else 0.0},
        "confusion": {t: {p: sum(1 for a, b in pairs if a == t and b == p) for p in SEVERITIES} for t in SEVERITIES},
    }


def run(corpus: Path = CORPUS, *, split: str = "test", policy: SeverityPolicy | None = None) -> dict[str, Any]:
    """Severity from scale next to the legacy rules, on the rows of `split` that carry a severity."""
    policy = policy or SeverityPolicy()
    rows = [r for r in load(corpus) if r.get("severity") and (split == "all" or r["split"] == split)]
    scale: list[tuple[Severity, Severity]] = []
    legacy: list[tuple[Severity, Severity]] = []
    misses = []
    for row in rows:
        capture = capture_of(row)
        level, reasons = assess(capture, policy)
        scale.append((row["severity"], level))
        legacy.append((row["severity"], legacy_severity(capture, classify(capture, []).category)))
        if abs(SEVERITIES.index(level) - SEVERITIES.index(row["severity"])) > 1:
            misses.append({"id": row["id"], "label": row["severity"], "predicted": level, "reasons": reasons[:3]})
    return {
        "split": split,
        "rows": len(rows),
        "labels": dict(Counter(r["severity"] for r in rows)),
        "severity_from_scale": score(scale),
        "legacy_rules": score(legacy),
        "off_by_more_than_one": misses,
    }
