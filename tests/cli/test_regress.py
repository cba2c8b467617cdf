"""`postmortem regress`: the cases `learn --all --out` wrote, run against an agent named as module:function; exit 0
when none failed, 1 when one did, 2 for bad input, each said in one line."""

import json
from pathlib import Path

import pytest

from tests.regressions import write_incidents


@pytest.fixture
def learned(run, tmp_path: Path) -> Path:  # type: ignore[no-untyped-def]
    assert run("import", str(write_incidents(tmp_path / "incidents.jsonl"))).exit_code == 0
    out = tmp_path / "learned"
    assert run("learn", "--all", "--out", str(out)).exit_code == 0
    return out


def test_an_agent_that_behaves_passes_and_the_cases_with_a_todo_are_skipped(run, learned: Path) -> None:  # type: ignore[no-untyped-def]
    """Without a judge the business-logic case (INC-4) shows nothing: its rubric carries it, and its not_raises of
    the label PolicyViolation cannot fail for a wrong refund. It is not shown, so the command exits 1."""
    result = run("regress", str(learned), "--agent", "tests.regressions:helpful")
    assert result.exit_code == 1, result.output
    lines = result.stdout.splitlines()
    assert lines[-1] == "3 passed, 0 failed, 1 not shown, 2 skipped"
    assert any(
        line.startswith("regress-INC-4 not_shown: nothing was checked in 1 of 1 run: configure a judge")
        for line in lines
    )
    assert (
        "regress-INC-2 passed: 0 failures in 73 runs: the failure rate is shown below 5.0% with 95% confidence" in lines
    )
    assert any(line.startswith("regress-INC-5 skipped: input: the prompt") for line in lines)
    assert "  not checked rubric in 73 of 73 runs: no judge model configured" in result.stdout


def test_a_failing_case_exits_1_with_the_failing_check_and_its_evidence(run, learned: Path) -> None:  # type: ignore[no-untyped-def]
    result = run("regress", str(learned / "evals"), "--agent", "tests.regressions:refusing")
    assert result.exit_code == 1
    assert "regress-INC-2 failed: 73 failures in 73 runs" in result.stdout
    assert "  failed not_refusal in 73 of 73 runs: the answer opens with a refusal: I'm sorry, but I can't" in (
        result.stdout
    )
    assert result.stdout.splitlines()[-1] == "2 passed, 1 failed, 1 not shown, 2 skipped"


def test_json_gives_every_case_and_the_counts_and_what_the_agent_prints_stays_off_it(run, learned: Path) -> None:  # type: ignore[no-untyped-def]
    result = run("regress", str(learned), "--agent", "tests.regressions:chatty", "--trials", "5", "--json")
    assert result.exit_code == 1  # 5 clean runs do not show a probabilistic case's rate
    data = json.loads(result.stdout)
    assert (data["passed"], data["failed"], data["not_shown"], data["skipped"]) == (1, 0, 3, 2)
    shown = {c["case_id"]: c for c in data["cases"]}
    assert shown["regress-INC-2"]["status"] == "not_shown" and shown["regress-INC-2"]["more_runs_needed"] == 68
    assert shown["regress-INC-1"]["runs"] == 5 and shown["regress-INC-1"]["rate"]["high"] > 0
    assert "calling the model" in result.stderr


@pytest.mark.parametrize(
    ("agent", "said"),
    [
        ("no_such_module_here:run", "--agent no_such_module_here:run: no module named 'no_such_module_here' (run from"),
        ("tests.regressions", "--agent 'tests.regressions': give it as module:function"),
        ("tests.regressions:missing", "--agent tests.regressions:missing: tests.regressions has no 'missing'"),
        ("tests.regressions:NOT_AN_AGENT", "NOT_AN_AGENT is a str, not a function to call"),
    ],
)
def test_an_agent_that_cannot_be_loaded_is_bad_input_in_one_line(run, learned: Path, agent: str, said: str) -> None:  # type: ignore[no-untyped-def]
    result = run("regress", str(learned), "--agent", agent)
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.startswith("error: ") and said in result.stderr and len(result.stderr.splitlines()) == 1


def test_a_path_without_cases_or_a_file_that_is_not_one_is_bad_input(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    agent = ("--agent", "tests.regressions:helpful")
    missing = run("regress", str(tmp_path / "nowhere"), *agent)
    assert missing.exit_code == 2 and "nowhere" in missing.stderr and "Traceback" not in missing.output
    (tmp_path / "regressions.jsonl").write_text('{"id": "regress-INC-1"}\n', encoding="utf-8")
    bad = run("regress", str(tmp_path), *agent)
    assert bad.exit_code == 2 and "regressions.jsonl line 1: not a regression case (" in bad.stderr
    assert len(bad.stderr.splitlines()) == 1


def test_the_configured_model_judges_the_rubric(run, learned: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    from tests.fake_openai import FakeOpenAI

    with FakeOpenAI() as model:
        for name, value in {
            "POSTMORTEM_LLM": "openai",
            "OPENAI_BASE_URL": model.base_url,
            "POSTMORTEM_MODEL": "m",
        }.items():
            monkeypatch.setenv(name, value)
        model.enqueue(json.dumps({"reason": "It refunded in full without a manager's approval.", "verdict": "fail"}))
        result = run("regress", str(learned / "evals" / "regress-INC-4.json"), "--agent", "tests.regressions:helpful")
        judged = model.requests[0]["messages"][-1]["content"]
    assert result.exit_code == 1, result.output
    assert "  failed rubric in 1 of 1 run: judge: It refunded in full without a manager's approval." in result.stdout
    assert "Refund order 8812 in full, it arrived broken" in judged and "The agent applies the business rule" in judged


def test_a_case_with_nothing_checked_exits_1_not_passed(run, learned: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    data = json.loads((learned / "evals" / "regress-INC-2.json").read_text(encoding="utf-8"))
    data["checks"] = [c for c in data["checks"] if c["kind"] == "rubric"]
    (tmp_path / "regress-INC-2.json").write_text(json.dumps(data), encoding="utf-8")
    result = run("regress", str(tmp_path / "regress-INC-2.json"), "--agent", "tests.regressions:refusing")
    assert result.exit_code == 1, result.output
    assert "regress-INC-2 not_shown: nothing was checked in 73 of 73 runs" in result.stdout
    assert result.stdout.splitlines()[-1] == "0 passed, 0 failed, 1 not shown, 0 skipped"


def test_a_hanging_agent_is_stopped_at_the_time_limit(run, learned: Path) -> None:  # type: ignore[no-untyped-def]
    case = str(learned / "evals" / "regress-INC-2.json")
    result = run("regress", case, "--agent", "tests.regressions:hanging", "--time-limit", "0.2")
    assert result.exit_code == 1, result.output
    assert "  failed raised in 1 of 1 run: raised RunTimeLimit: did not finish within 0.2 s: stopped" in result.stdout
    bad = run("regress", case, "--agent", "tests.regressions:hanging", "--time-limit", "-1")
    assert bad.exit_code == 2 and "Traceback" not in bad.output


def test_when_every_case_is_skipped_it_says_nothing_ran_and_exits_1(run, learned: Path) -> None:  # type: ignore[no-untyped-def]
    """Cases with a todo only (inputs redacted at capture): no run was made, and it said `0 passed, ... 1 skipped`
    with exit 0, which a CI job reads as a pass."""
    case = str(learned / "evals" / "regress-INC-6.json")
    for extra in ((), ("--json",)):
        result = run("regress", case, "--agent", "tests.regressions:helpful", *extra)
        assert result.exit_code == 1, result.output
        assert "no case ran: the 1 case was skipped; fill in what its todo says, then empty it" in result.stderr
    assert json.loads(result.stdout)["skipped"] == 1


def test_an_agent_that_calls_sys_exit_fails_its_run_instead_of_ending_the_command(run, learned: Path) -> None:  # type: ignore[no-untyped-def]
    """sys.exit(0) in the agent ended `regress` with exit 0 and no report: a CI job read it as a pass."""
    result = run("regress", str(learned / "evals" / "regress-INC-2.json"), "--agent", "tests.regressions:exiting")
    assert result.exit_code == 1, result.output
    assert "  failed raised in 73 of 73 runs: raised SystemExit: 0" in result.stdout


def test_what_the_agent_writes_below_sys_stdout_stays_off_the_json(learned: Path, tmp_path: Path) -> None:
    """A child process or os.write(1, ...) in the agent wrote into --json's stdout, which then no longer parsed."""
    from tests.processes import postmortem

    case = str(learned / "evals" / "regress-INC-1.json")
    done = postmortem("regress", case, "--agent", "tests.regressions:fd_writer", "--json", home=tmp_path / "h")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["passed"] == 1
    assert b"written to fd 1" in done.stderr and b"a tool's child process" in done.stderr


def test_learning_again_keeps_a_case_file_edited_by_hand(run, learned: Path) -> None:  # type: ignore[no-untyped-def]
    """The docs say to fill in a case's todo (test credentials in place of a redacted key) and run it; the next
    `learn --all --out` into the same directory wrote over the edit without a word, and the case was skipped again."""
    edited_path = learned / "evals" / "regress-INC-6.json"
    edited = json.loads(edited_path.read_text(encoding="utf-8")) | {
        "input": "ship the logs using key test-key",
        "todo": [],
    }
    edited_path.write_text(json.dumps(edited, indent=2), encoding="utf-8")
    untouched = (learned / "evals" / "regress-INC-1.json").read_text(encoding="utf-8")
    again = run("learn", "--all", "--out", str(learned))
    assert again.exit_code == 0, again.output
    assert json.loads(edited_path.read_text(encoding="utf-8")) == edited
    assert f"kept {edited_path}: edited since learn wrote it; delete it to learn it again" in again.stderr
    assert (learned / "evals" / "regress-INC-1.json").read_text(encoding="utf-8") == untouched
    ran = run("regress", str(learned), "--agent", "tests.regressions:helpful")
    # ran, not skipped: its error type ToolSchemaValidationError is a label (no such class, no stack trace), so
    # its rubric carries it, unjudged here
    assert "regress-INC-6 not_shown: nothing was checked in 1 of 1 run" in ran.stdout, ran.stdout


def test_what_the_agents_module_prints_on_import_stays_off_the_json(run, learned: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A module that prints a banner when imported ("loading model weights...") put it before --json's object."""
    (tmp_path / "banner_agent.py").write_text(
        'print("loading model weights...")\n\ndef run(prompt, **context):\n    return "ok"\n', encoding="utf-8"
    )
    case = str(learned / "evals" / "regress-INC-1.json")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(tmp_path)
        result = run("regress", case, "--agent", "banner_agent:run", "--json")
    assert json.loads(result.stdout)["passed"] == 1, result.stdout
    assert "loading model weights..." in result.stderr


@pytest.mark.parametrize(
    ("agent", "said"),
    [
        (
            "lazy_agent:run",
            "--agent lazy_agent:run: looking up run in lazy_agent failed: RuntimeError: weights missing",
        ),
        ("lazy_agent:bot.run", "looking up bot.run in lazy_agent failed: ConnectionError: no route to the model host"),
    ],
)
def test_an_agent_whose_lookup_raises_is_bad_input(run, learned: Path, tmp_path: Path, agent: str, said: str) -> None:  # type: ignore[no-untyped-def]
    """`module:function` where getting the function raised (a module's `__getattr__` loading it lazily, a property)
    ended `regress` with that exception's traceback: only a missing attribute was said."""
    (tmp_path / "lazy_agent.py").write_text(
        "def __getattr__(name):\n"
        "    raise RuntimeError('weights missing')\n\n"
        "class Bot:\n"
        "    @property\n"
        "    def run(self):\n"
        "        raise ConnectionError('no route to the model host')\n\n"
        "bot = Bot()\n",
        encoding="utf-8",
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(tmp_path)
        result = run("regress", str(learned), "--agent", agent)
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.startswith("error: ") and said in result.stderr and len(result.stderr.splitlines()) == 1
