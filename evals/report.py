"""The eval run as Markdown: overall pass rates with 95% intervals, then one row per case."""

from agent_postmortem.evals.summary import EvalRun, ScorerSummary

ORDER = (
    "schema_valid",
    "whys_depth",
    "root_cause_agreement",
    "actions_specific",
    "action_recall",
    "grounding",
    "blameless",
    "model_behavior",
    "expectations",
    "attribution",
    "judge",
)


def _cell(s: ScorerSummary | None) -> str:
    if s is None or not s.scored:
        return "–"
    return f"{s.passed}/{s.scored}"


def render(run: EvalRun) -> str:
    lines = [
        f"# Draft-quality eval: backend `{run.backend}`" + (f" ({run.model})" if run.model else ""),
        "",
        f"{len(run.cases)} cases × {run.samples} sample(s), {run.seconds} s, "
        f"started {run.started_at:%Y-%m-%d %H:%M %Z}.",
        "",
        *(
            [
                "draft_analysis answered on the assistant path in "
                f"{run.assistant['p50']:.2f} s (p50), {run.assistant['p95']:.2f} s (p95), {run.assistant['max']:.2f} s "
                "(max), the server's start included.",
                "",
            ]
            if run.assistant
            else []
        ),
        "| scorer | pass rate | 95% interval | scored | mean value |",
        "| --- | --- | --- | --- | --- |",
    ]
    for name in ORDER:
        s = run.overall.get(name)
        if s is None or not s.scored:
            lines.append(f"| {name} | unscored | – | 0 | – |")
            continue
        mean = "–" if s.mean_value is None else f"{s.mean_value:.3f}"
        lines.append(f"| {name} | {s.rate:.3f} | [{s.low:.3f}, {s.high:.3f}] | {s.scored} | {mean} |")
    if run.regressions is not None:
        said = "; ".join(str(r) for r in run.regressions) or "none"
        lines += ["", f"Regressions against the baseline (interval wholly below the old one): {said}."]
    lines += ["", "| case | kind | " + " | ".join(ORDER) + " |", "| --- | --- |" + " --- |" * len(ORDER)]
    for case in run.cases:
        lines.append(f"| {case.name} | {case.kind} | " + " | ".join(_cell(case.summary.get(n)) for n in ORDER) + " |")
    return "\n".join(lines) + "\n"
