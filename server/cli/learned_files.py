"""What `postmortem learn --out DIR` writes: runbooks/*.md, evals/regress-*.json (one per case, the files a person
edits) and evals/regressions.jsonl. A case file edited since learn wrote it (a todo filled in: test credentials in
place of a redacted key) is kept as it is, not written over: evals/.learned.json holds the digest of each case file
as learn wrote it, and a file whose text no longer has it was edited. Case and runbook texts hold incident text:
written private, as an export (store/private.py)."""

import hashlib
import json
from pathlib import Path
from typing import Any

from agent_postmortem.analysis.wording import counted
from agent_postmortem.cli.output import err
from agent_postmortem.store.private import private_dir, write_output

DIGESTS = ".learned.json"


def write_learned(out_dir: Path, cases: list[Any], entries: list[Any]) -> None:
    from agent_postmortem.render.report import render_runbook

    runbooks, evals = private_dir(out_dir / "runbooks"), private_dir(out_dir / "evals")
    for entry in entries:
        write_output(runbooks / f"{entry.key}.md", render_runbook(entry))
    digests = _digests(evals)
    for case in cases:
        path, text = evals / f"{case.id}.json", case.model_dump_json(indent=2) + "\n"
        if _edited(path, digests.get(path.name), text):
            err.print(f"note: kept {path}: edited since learn wrote it; delete it to learn it again", markup=False)
            continue
        write_output(path, text)
        digests[path.name] = _digest(text)
    write_output(evals / DIGESTS, json.dumps(digests, indent=2, sort_keys=True) + "\n")
    suite = evals / "regressions.jsonl"
    write_output(suite, _merged_suite(suite, {case.id: case.model_dump_json() for case in cases}))
    shown = counted(len(entries), "runbook entry", "runbook entries")
    written = f"{shown} and {counted(len(cases), 'regression case')}"
    err.print(f"wrote {written} under {out_dir}", markup=False)  # it was "1 runbook entries and 1 regression cases"
    say_skipped(cases, f"each case file in {evals}")


def say_skipped(cases: list[Any], where: str) -> None:
    """A note on stderr of the cases `regress` will skip, grouped by what they lack and what to do (the seed's
    incidents, recorded without their prompt, gave 45 such cases and not a word of it); nothing when all can run."""
    from agent_postmortem.analysis.regression_skips import skip_summary, skipped_cases

    lines = skip_summary(cases, where)
    if not lines:
        return
    skipped = len(skipped_cases(cases))
    if skipped == len(cases):
        head = "the case will be skipped" if skipped == 1 else f"all {skipped} cases will be skipped"
    else:
        head = f"{skipped} of {counted(len(cases), 'case')} will be skipped"
    todo = "its todo is" if skipped == 1 else "their todo is"
    err.print("\n".join([f"note: {head} by `postmortem regress` until {todo} done:", *lines]), markup=False)


def _edited(path: Path, written: str | None, text: str) -> bool:
    """Whether the case file at `path` was changed by hand: its text is not what learn wrote there (`written`, its
    digest; none recorded: a directory from before digests were kept, where a file unlike the new case is kept)."""
    if not path.is_file():
        return False
    current = path.read_text(encoding="utf-8", errors="replace")
    return _digest(current) != written if written else current != text


def _digests(evals: Path) -> dict[str, str]:
    try:
        found = json.loads((evals / DIGESTS).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {k: v for k, v in found.items() if isinstance(v, str)} if isinstance(found, dict) else {}


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _merged_suite(suite: Path, learned: dict[str, str]) -> str:
    """The regression suite's lines with this run's cases in them: a case learned again replaces its line, the
    others stay (one incident learned into a directory of `--all` must not drop the other cases)."""
    lines: list[str] = []
    if suite.is_file():
        for line in suite.read_text(encoding="utf-8").splitlines():
            try:
                case_id = json.loads(line).get("id")
            except (ValueError, AttributeError):
                case_id = None
            if case_id not in learned and line.strip():
                lines.append(line)
    return "".join(f"{line}\n" for line in [*lines, *learned.values()])
