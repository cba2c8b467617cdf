"""The draft-quality eval: cases load and are neutral, the runner's statistics, baselines that the scorers separate,
regression detection, and one end-to-end run with the bundled local model."""

import json
import os
import re
from collections import Counter
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agent_postmortem.cli.app import app
from agent_postmortem.cli.demo import SEED
from agent_postmortem.evals.cases import CaseFileError, load_case, load_cases
from agent_postmortem.evals.runner import run
from agent_postmortem.evals.scorers import Score
from agent_postmortem.evals.summary import EvalRun, interval, regressions, summarize
from agent_postmortem.store.models import Category
from agent_postmortem.store.search.embedding import Embedder
from tests.fake_openai import FakeOpenAI
from tests.processes import postmortem

WORDS_OF_ANSWERS = {c.value for c in Category} | {w for c in Category for w in c.value.split("_")} - {"llm", "logic"}


def test_the_cases_cover_what_the_suite_promises_and_their_names_hint_nothing() -> None:
    cases = load_cases()
    kinds = Counter(c.case.kind for c in cases)
    assert kinds["agent"] >= 30 and kinds["postmortem"] >= 15 and kinds["trace"] >= 10
    agent_categories = {c.case.incident.category for c in cases if c.case.kind == "agent"}
    assert agent_categories == {c.value for c in Category}
    for c in cases:
        assert re.fullmatch(r"\d\d_[a-z]+", c.name), c.name
        assert not set(c.name.split("_")[1:]) & WORDS_OF_ANSWERS, c.name
        if c.case.kind == "agent":
            assert c.case.source == "team" and c.case.reference.action_items
    assert len({c.name.split("_")[1] for c in cases}) == len(cases)  # every word used once


def test_a_broken_case_file_names_the_file_and_field(tmp_path: Path) -> None:
    folder = tmp_path / "01_x"
    folder.mkdir()
    (folder / "case.yaml").write_text("kind: agent\nsource: team\nincident: {title: ab}\n", encoding="utf-8")
    with pytest.raises(CaseFileError, match=r"01_x/case.yaml: .*incident.title.*reference"):
        load_case(folder)


def test_unscored_results_never_count_as_failures() -> None:
    samples = [
        [Score(name="a", passed=True, reason=""), Score(name="b", passed=None, reason="")],
        [Score(name="a", passed=False, reason=""), Score(name="b", passed=None, reason="")],
    ]
    summary = summarize(samples)
    assert (summary["a"].passed, summary["a"].scored, summary["a"].rate) == (1, 2, 0.5)
    assert summary["b"].scored == 0 and summary["b"].rate is None
    assert interval(20, 20).low > 0.8 and interval(0, 20).high < 0.2


@pytest.mark.slow
def test_the_scorers_separate_the_reference_from_a_generic_draft_and_flag_the_drop(embedder: Embedder) -> None:
    cases = load_cases("0[1-6]_*") + load_cases("3[4-9]_*") + load_cases("5[0-3]_*")
    reference = run(cases, backend="reference", embedder=embedder, seed_path=SEED)
    generic = run(cases, backend="generic", embedder=embedder, seed_path=SEED)
    for name in ("root_cause_agreement", "action_recall", "attribution"):
        assert reference.overall[name].low > generic.overall[name].high, name
    assert reference.overall["schema_valid"].rate == 1.0
    drops = regressions(reference, generic)
    assert any(d.scorer == "root_cause_agreement" and d.after.high < d.before.low for d in drops)
    assert regressions(reference, reference) == []


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_eval_end_to_end_with_the_bundled_local_model(tmp_path: Path, local_llm_url: str) -> None:
    env = {
        "POSTMORTEM_LLM": "local",
        "POSTMORTEM_LLM_TIMEOUT": "600",  # a loaded 2-core machine: slow is not wrong here
        "POSTMORTEM_LOCAL_THREADS": os.environ.get("POSTMORTEM_LOCAL_THREADS", "1"),  # reuse the session's server
    }
    runner = CliRunner(env=env)
    out = tmp_path / "run"
    result = runner.invoke(app, ["eval", "--cases", "01_*", "--out", str(out)], catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    first = EvalRun.model_validate_json((out / "eval.json").read_text(encoding="utf-8"))
    assert first.backend == "server" and first.model is not None and "SmolLM2" in first.model
    assert first.overall["schema_valid"].scored == 1  # a draft or a recorded failure: either way, scored
    assert (out / "eval.md").read_text(encoding="utf-8").startswith("# Draft-quality eval: backend `server`")
    worse = first.model_copy(deep=True)
    for summary in worse.overall.values():
        summary.low, summary.high = 1.1, 1.2  # an impossible earlier run that everything falls below
    baseline = tmp_path / "baseline.json"
    baseline.write_text(worse.model_dump_json(), encoding="utf-8")
    compared = runner.invoke(
        app, ["eval", "--backend", "generic", "--cases", "01_*", "--baseline", str(baseline), "--json"]
    )
    assert compared.exit_code == 1 and "regression: schema_valid" in compared.stderr
    assert json.loads(compared.stdout)["backend"] == "generic"


def test_eval_refuses_an_out_that_is_not_a_directory_before_drafting_anything(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """It drafted and scored every case first, then failed to write and lost them."""
    import agent_postmortem.evals.runner as runner_module

    def never(*args: object, **kwargs: object) -> None:
        raise AssertionError("the eval ran")

    monkeypatch.setattr(runner_module, "run", never)
    monkeypatch.setenv("POSTMORTEM_HOME", str(tmp_path / "home"))
    taken = tmp_path / "a-file"
    taken.write_text("mine", encoding="utf-8")
    result = CliRunner().invoke(app, ["eval", "--backend", "reference", "--cases", "01_*", "--out", str(taken)])
    # bad input, exit 2 as for every path given wrong (it was "File exists", exit 1: a failure of the system)
    assert result.exit_code == 2 and taken.read_text(encoding="utf-8") == "mine"
    assert f"{taken} is a file: give a directory to write in" in result.stderr.replace("\n", "")


def test_bench_guard_refuses_a_drafts_file_that_is_not_there(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A mistyped --drafts printed the baselines alone and exit 0, as if the model's drafts had been checked."""
    monkeypatch.setenv("POSTMORTEM_HOME", str(tmp_path / "home"))
    missing = tmp_path / "drafts.jsonl"
    result = CliRunner().invoke(app, ["bench", "guard", "--cases", "01_*", "--drafts", str(missing), "--json"])
    assert result.exit_code == 2 and "no drafts file at" in result.stderr and result.stdout == ""


def test_eval_refuses_a_baseline_of_other_cases_before_drafting_anything(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A baseline of 19 cases against a run of one compared overall rates of two mixes of cases: a 'regression'
    (exit 1) or a pass that no draft caused."""
    import agent_postmortem.evals.runner as runner_module

    def never(*args: object, **kwargs: object) -> None:
        raise AssertionError("the eval ran")

    monkeypatch.setenv("POSTMORTEM_HOME", str(tmp_path / "home"))
    baseline = tmp_path / "eval.json"
    ran = CliRunner().invoke(app, ["eval", "--backend", "reference", "--cases", "0[12]_*", "--out", str(tmp_path)])
    assert ran.exit_code == 0, ran.stderr
    monkeypatch.setattr(runner_module, "run", never)
    result = CliRunner().invoke(app, ["eval", "--backend", "generic", "--cases", "01_*", "--baseline", str(baseline)])
    assert result.exit_code == 2 and "the baseline scored 2 cases and --cases selects 1" in result.stderr


def test_regressions_against_a_baseline_are_in_the_json_and_exit_1(tmp_path: Path) -> None:
    """`eval --json --baseline` said the regressions only on stderr: a pipeline reading the JSON could not see them."""
    ran = postmortem("eval", "--backend", "generic", "--cases", "01_*", "--out", str(tmp_path), home=tmp_path / "h")
    assert ran.returncode == 0, ran.stderr
    same = postmortem(
        "eval", "--backend", "generic", "--cases", "01_*", "--baseline", str(tmp_path / "eval.json"), "--json",
        home=tmp_path / "h",
    )  # fmt: skip
    assert same.returncode == 0 and json.loads(same.stdout)["regressions"] == [], same.stderr
    better = json.loads((tmp_path / "eval.json").read_text(encoding="utf-8"))
    for summary in better["overall"].values():
        summary["low"], summary["high"] = 1.1, 1.2  # an impossible earlier run that everything scored falls below
    baseline = tmp_path / "better.json"
    baseline.write_text(json.dumps(better), encoding="utf-8")
    worse = postmortem(
        "eval", "--backend", "generic", "--cases", "01_*", "--baseline", str(baseline), "--json", home=tmp_path / "h"
    )
    found = json.loads(worse.stdout)["regressions"]
    assert worse.returncode == 1 and found, worse.stderr
    assert {"scorer", "before", "after"} == set(found[0]) and found[0]["before"]["low"] == 1.1
    assert f"regression: {found[0]['scorer']}: " in worse.stderr.decode()


def test_a_case_that_two_globs_match_runs_once() -> None:
    """`--cases '01_*,0[1]_*'` ran 01 twice and the second seed import failed: 'unexpected IndexError', exit 1."""
    result = CliRunner().invoke(app, ["eval", "--backend", "generic", "--cases", "01_*,0[1]_*", "--json"])
    assert result.exit_code == 0, result.stderr
    assert [case["name"] for case in json.loads(result.stdout)["cases"]] == ["01_harbor"]


def test_an_endpoint_failing_one_draft_leaves_it_unscored_and_the_run_goes_on(tmp_path: Path) -> None:
    """HTTP 500 (or 429) after the client's retries on one draft ended `postmortem eval` with that error, and every
    draft scored before it was lost; an endpoint that keeps failing still stops the run, after a few drafts."""
    with FakeOpenAI() as endpoint:
        for _ in range(3):  # the first request and the client's two retries
            endpoint.enqueue(status=500, error="overloaded")
        endpoint.enqueue("no analysis here")  # the next case: the model answered, with no analysis
        endpoint.enqueue("still none")
        env = {"OPENAI_BASE_URL": endpoint.base_url, "OPENAI_API_KEY": "k", "POSTMORTEM_MODEL": "m"}
        env["POSTMORTEM_LLM"] = "openai"
        ran = postmortem("eval", "--cases", "0[12]_*", "--json", home=tmp_path / "h", env=env)
        assert ran.returncode == 0, ran.stderr.decode()
        first, second = EvalRun.model_validate_json(ran.stdout).cases
        assert {s.passed for s in first.samples[0]} == {None} and "endpoint failed" in first.samples[0][0].reason
        assert second.samples[0][0].passed is False and second.summary["schema_valid"].scored == 1

        for _ in range(9):  # three drafts in a row, each with its retries
            endpoint.enqueue(status=500, error="overloaded")
        stopped = postmortem("eval", "--cases", "0[1-4]_*", home=tmp_path / "h", env=env)
    said = stopped.stderr.decode()
    assert stopped.returncode == 1 and "3 drafts in a row: the eval stops" in said and "Traceback" not in said
