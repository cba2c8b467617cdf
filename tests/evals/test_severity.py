"""`postmortem bench severity` on a tiny corpus: its figures, the legacy reference, and the CLI command."""

import json
import os
import subprocess
import sys
from pathlib import Path

from agent_postmortem.evals.severity import run, score

CLI = str(Path(sys.executable).parent / "postmortem")


def row(i: int, text: str, severity: str | None, split: str = "test") -> dict[str, object]:
    return {"id": f"r{i}", "title": "report", "text": text, "severity": severity, "split": split}


def write(path: Path) -> Path:
    rows = [
        row(1, "2.1M rows lost in a production migration", "SEV1"),
        row(2, "every RAG agent down for 38 minutes", "SEV2"),
        row(3, "a $149 goodwill refund to one customer", "SEV3"),
        row(4, "the agent's loop burned $3 of credits", "SEV4"),
        row(5, "no impact stated", None),
        row(6, "ChatGPT was unavailable to all users for 4 hours", "SEV1", split="train"),
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_score_counts_exact_within_one_and_the_modal_share() -> None:
    result = score([("SEV1", "SEV1"), ("SEV2", "SEV3"), ("SEV4", "SEV1")])
    assert result["exact"]["hits"] == 1 and result["within_one"]["hits"] == 2 and result["exact"]["n"] == 3
    assert result["exact"]["low"] < 1 / 3 < result["exact"]["high"]
    assert result["most_frequent_prediction"]["share"] == round(2 / 3, 3)
    assert result["confusion"]["SEV4"]["SEV1"] == 1


def test_run_scores_the_rated_rows_of_the_split_next_to_the_legacy_rules(tmp_path: Path) -> None:
    result = run(write(tmp_path / "c.jsonl"), split="test")
    assert result["rows"] == 4 and result["labels"] == {"SEV1": 1, "SEV2": 1, "SEV3": 1, "SEV4": 1}
    assert result["severity_from_scale"]["exact"]["hits"] == 4
    assert result["legacy_rules"]["exact"]["hits"] < 4  # the rules before #18 called these SEV4 or by category
    assert run(write(tmp_path / "c.jsonl"), split="train")["rows"] == 1


def test_bench_severity_command_prints_the_figures(tmp_path: Path) -> None:
    env = {**os.environ, "POSTMORTEM_HOME": str(tmp_path / "home"), "POSTMORTEM_LLM": "none", "HF_HUB_OFFLINE": "1"}
    done = subprocess.run(
        [CLI, "bench", "severity", "--corpus", str(write(tmp_path / "c.jsonl")), "--json"],
        env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    human = subprocess.run(
        [CLI, "bench", "severity", "--corpus", str(tmp_path / "c.jsonl")], env=env, capture_output=True, text=True
    )
    assert human.returncode == 0 and "within_one" in human.stdout and not human.stdout.lstrip().startswith("{")
    assert json.loads(done.stdout)["severity_from_scale"]["within_one"]["rate"] == 1.0
    bad = subprocess.run([CLI, "bench", "severity", "--split", "dev"], env=env, capture_output=True, text=True)
    assert bad.returncode != 0
    assert "--split must be test, train, all, fresh41, fresh42, fresh43 or fresh44" in bad.stderr
