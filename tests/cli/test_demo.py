"""`postmortem demo` and `postmortem eval` run as a user runs them: they leave nothing behind in the temporary
directory (a private TMPDIR here, compared before and after). The model is exported beforehand (the `embedder`
fixture), as it is after a first run; onnxruntime's own `.ses` file, which importing it writes, is not ours."""

import json
from pathlib import Path

import pytest

from tests.processes import postmortem

pytestmark = pytest.mark.slow


def _left_in(tmp: Path, args: list[str], home: Path, model_cache: Path) -> tuple[list[str], bytes]:
    tmp.mkdir()
    env = {"TMPDIR": str(tmp), "POSTMORTEM_MODEL_CACHE": str(model_cache)}
    result = postmortem(*args, home=home, env=env)
    assert result.returncode == 0, result.stderr.decode()[-2000:]
    return sorted(p.name for p in tmp.iterdir() if p.name != ".ses"), result.stdout


def test_the_demo_removes_its_temporary_home_and_prints_the_report(
    tmp_path: Path, model_cache: Path, embedder: object
) -> None:
    left, stdout = _left_in(tmp_path / "tmp", ["demo", "--json"], tmp_path / "unused", model_cache)
    assert left == []
    shown = json.loads(stdout)
    assert shown["home"] is None and shown["report"] is None and shown["incident_id"].startswith("INC-")
    kept = tmp_path / "kept"
    args = ["demo", "--home", str(kept), "--json"]
    left, stdout = _left_in(tmp_path / "tmp2", args, tmp_path / "unused", model_cache)
    assert left == [] and Path(json.loads(stdout)["report"]).is_file() and (kept / "postmortem.db").is_file()


def test_the_demo_on_an_80_column_terminal_prints_the_report_markdown_unbroken(
    tmp_path: Path, model_cache: Path, embedder: object
) -> None:
    """The report the demo prints was hard-wrapped at the terminal's width: table rows broke mid-row, so the Markdown
    a user copied from it was no longer a table. The terminal wraps it now; the text keeps its lines."""
    env = {"POSTMORTEM_MODEL_CACHE": str(model_cache), "COLUMNS": "80"}
    result = postmortem("demo", home=tmp_path / "unused", env=env)
    shown = result.stdout.decode()
    assert result.returncode == 0, result.stderr.decode()[-2000:]
    report = shown[shown.index("# Post-mortem: ") :]
    rows = [row for row in report.splitlines() if row.startswith("|")]
    assert rows and all(row.endswith("|") for row in rows), rows
    assert "| Rank | Incident | Relevance | Cosine | Category | Severity | Status | Title | Root cause |" in rows
    assert " 1. INC-" in shown[: shown.index("# Post-mortem: ")]  # similar incidents as blocks at 80 columns


def test_eval_removes_its_temporary_homes(tmp_path: Path, model_cache: Path, embedder: object) -> None:
    args = ["eval", "--backend", "reference", "--cases", "01_*", "--json"]
    left, stdout = _left_in(tmp_path / "tmp", args, tmp_path / "unused", model_cache)
    assert left == [] and json.loads(stdout)["backend"] == "reference"


@pytest.mark.parametrize(
    ("failure", "said", "not_said"),
    [  # a refused draft says nothing was stored and how to get a real one
        ("DraftError", "Drafting failed: not an analysis yet", None),
        # the bundled model passing its 600 s on a busy machine was followed by "a draft that is not an analysis is
        # refused": the user read that the guard had refused a draft that never came
        ("DraftTimeout", "within 600 s", "not an analysis"),
    ],
)
def test_a_draft_that_failed_says_nothing_was_stored_and_how_to_get_a_real_one(
    monkeypatch: pytest.MonkeyPatch, failure: str, said: str, not_said: str | None
) -> None:
    from io import StringIO
    from types import SimpleNamespace

    from rich.console import Console

    from agent_postmortem import errors
    from agent_postmortem.cli import demo
    from agent_postmortem.llm.registry import LLMChoice

    messages = {
        "DraftError": "not an analysis yet: why 1 holds a template placeholder",
        "DraftTimeout": "a tiny model did not finish the draft of INC-1 within 600 s; nothing was stored",
    }

    def fail(incident_id: str, progress: object = None) -> None:
        raise getattr(errors, failure)(messages[failure])

    tiny = LLMChoice(backend="local", describe="a tiny model", low_quality=True)
    monkeypatch.setattr(demo, "choose_llm", lambda settings: tiny)
    out = Console(file=StringIO(), width=200)
    assert not demo._draft(out, SimpleNamespace(draft_analysis=fail), object(), "INC-1")  # type: ignore[arg-type]
    shown = out.file.getvalue()  # type: ignore[attr-defined]
    assert said in shown and "Nothing was stored" in shown and "record_analysis" in shown
    assert not_said is None or not_said not in shown
