"""Reading the regression cases `postmortem learn` writes (sdk/regress.py runs them): a `regress-*.json` file, a
`regressions.jsonl`, or a directory of them, each case checked strictly so that an edit is never left out unnoticed;
and the cases as `pytest.param`s."""

import re
from pathlib import Path
from typing import Any

from pydantic import ConfigDict, ValidationError

from agent_postmortem.analysis.regression import RegressionCase
from agent_postmortem.analysis.regression_verdict import skip_reasons
from agent_postmortem.errors import validation_problems
from agent_postmortem.ingest.json_input import JsonInputError, loads
from agent_postmortem.ingest.jsonfile import read_text


class CaseFileError(ValueError):
    """A path that holds no regression case, or a file that is not one: the message says which and where."""


class _CaseFile(RegressionCase):
    model_config = ConfigDict(extra="forbid")  # a misspelt field ("inputs") would leave the input out unnoticed


def load_cases(path: str | Path) -> list[RegressionCase]:
    """The cases in `path`: a `regress-*.json` file, a `regressions.jsonl`, or a directory (`learn --out`'s, or
    its `evals/`), whose `regress-*.json` files are read (the ones to edit), else its `regressions.jsonl`."""
    path = Path(path)
    files = _case_files(path) if path.is_dir() else [path]
    cases = [case for file in files for case in _read(file)]
    if not cases:
        raise CaseFileError(f"no regression cases in {path}: it is empty")
    return cases


def _case_files(directory: Path) -> list[Path]:
    for folder in (directory, directory / "evals"):
        cases = sorted(
            folder.glob("regress-*.json"),
            key=lambda p: [int(s) if s.isdigit() else s for s in re.split(r"(\d+)", p.name)],
        )
        if cases:
            return cases
        if (folder / "regressions.jsonl").is_file():
            return [folder / "regressions.jsonl"]
    raise CaseFileError(
        f"no regression cases in {directory}: give the directory `postmortem learn --all --out DIR` wrote, its "
        "regressions.jsonl or a regress-*.json file"
    )


def _read(file: Path) -> list[RegressionCase]:
    text = read_text(file)  # UTF-8 (a BOM, gzip); a missing file: FileNotFoundError, said by the caller
    if file.suffix == ".jsonl":
        return [_parse(line, f"{file} line {n}") for n, line in enumerate(text.splitlines(), 1) if line.strip()]
    return [_parse(text, str(file))]


def _parse(text: str, where: str) -> RegressionCase:
    try:
        checked = _CaseFile.model_validate(loads(text))
    except JsonInputError as e:
        raise CaseFileError(f"{where}: {e}") from None
    except ValidationError as e:
        raise CaseFileError(f"{where}: not a regression case ({validation_problems(e)})") from None
    return RegressionCase(**dict(checked))  # the case itself, not the strict reader's subclass


def regression_params(path: str | Path) -> list[Any]:
    """`load_cases(path)` as `pytest.param`s, each with its case id, a case that cannot run marked skip with why."""
    import pytest

    def marks(case: RegressionCase) -> list[Any]:
        reasons = skip_reasons(case)
        return [pytest.mark.skip(reason="; ".join(reasons))] if reasons else []

    return [pytest.param(case, id=case.id, marks=marks(case)) for case in load_cases(path)]
