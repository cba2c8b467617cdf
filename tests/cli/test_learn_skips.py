"""What `learn` and `regress` tell a user whose cases cannot run yet: the seed incidents (as any incident recorded
without its prompt) give cases with nothing to replay. `learn --all --out` wrote 45 cases and said nothing of it, and
`regress` then ran none ("all 45 cases were skipped; fill in what each todo says"), leaving the user to open 45
files to find that every one lacked the same thing."""

from pathlib import Path

from tests.factories import SEED


def test_learn_says_which_cases_regress_will_skip_and_what_to_fill_in(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert run("import", str(SEED)).exit_code == 0
    out = tmp_path / "learned"
    result = run("learn", "--all", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "note: all 45 cases will be skipped by `postmortem regress` until their todo is done" in result.stderr
    assert "45 with no input (regress-INC-1, regress-INC-2, regress-INC-3 and 42 more)" in result.stderr
    assert (
        f'write the prompt that reproduces the failure into "input" of each case file in {out / "evals"}'
        in result.stderr
    )
    assert "capture --prompt" in result.stderr


def test_regress_says_why_every_case_was_skipped_grouped_by_what_is_missing(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert run("import", str(SEED)).exit_code == 0
    assert run("learn", "--all", "--out", str(tmp_path / "learned")).exit_code == 0
    result = run("regress", str(tmp_path / "learned"), "--agent", "tests.regressions:helpful")
    assert result.exit_code == 1, result.output
    assert "note: no case ran: all 45 cases were skipped; fill in what each todo says, then empty it" in result.stderr
    assert "45 with no input (regress-INC-1, regress-INC-2, regress-INC-3 and 42 more)" in result.stderr


def test_learn_says_nothing_when_every_case_can_run(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from tests.regressions import write_incidents

    assert run("import", str(write_incidents(tmp_path / "incidents.jsonl"))).exit_code == 0
    result = run("learn", "INC-2", "--out", str(tmp_path / "learned"))
    assert result.exit_code == 0, result.output
    assert "skipped" not in result.stderr
