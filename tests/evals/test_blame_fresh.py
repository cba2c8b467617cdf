"""Scoring one named set: the bench's names, and a sealed set refused before anything is read."""

import pytest

from agent_postmortem.evals import blame_fresh
from agent_postmortem.evals.blameless import SEALED


def test_a_short_name_is_the_benchs_set() -> None:
    assert blame_fresh.set_name("test10") == "external_test10"
    assert blame_fresh.set_name("external_test7") == "external_test7"
    assert blame_fresh.set_name("regression") == "regression"


@pytest.mark.parametrize("name", [*SEALED, *(s.removeprefix("external_") for s in SEALED)])
def test_a_sealed_set_is_refused(name: str) -> None:
    with pytest.raises(ValueError, match="sealed"):
        blame_fresh.set_name(name)


def test_an_unknown_set_is_refused_with_the_names_there_are(capsys: pytest.CaptureFixture[str]) -> None:
    assert blame_fresh.main(["test99"]) == 2
    err = capsys.readouterr().err
    assert "no set test99" in err and "external_test10" in err and not any(s in err for s in SEALED)
