"""The rewrite figures: counted per finding, a rewrite that still names its person counted as blaming, the sealed set
refused, and the module run as its own process."""

import json
import os
import subprocess
import sys

import pytest

from agent_postmortem.analysis.blame import BlameSpan
from agent_postmortem.analysis.blame_learned import GENERIC
from agent_postmortem.evals.blame_rewrites import figures, rewrites, still_blames
from agent_postmortem.evals.blameless import SEALED, UNSCORED

_SPAN = BlameSpan(0, 4, "person_as_cause", "Dana")


@pytest.mark.parametrize(
    ("rewrite", "blames"),
    [
        ("The table was dropped; nothing in the process stopped or caught it before it took effect.", False),
        ("The table was dropped by Dana.", True),  # the finding's person
        ("Our table was dropped.", True),  # a first person pronoun
        ("The table was dropped because the engineer forgot to check.", True),  # a blame span
    ],
)
def test_a_rewrite_still_blames_when_it_names_someone(rewrite: str, blames: bool) -> None:
    assert still_blames(rewrite, _SPAN) is blames


def test_figures_count_generic_templated_and_blaming_rewrites() -> None:
    found = [
        ("s", _SPAN, GENERIC),
        ("s", _SPAN, "It broke. What made this easy to get wrong, and which check would have caught it?"),
        ("s", _SPAN, "Dana broke it: name the check or step that would have prevented it, not the person."),
        ("s", _SPAN, "The build was broken; nothing in the process stopped or caught it before it took effect."),
    ]
    assert figures(found) == {"findings": 4, "generic": 1, "templated": 2, "still_blaming": 1}


def test_the_sealed_set_is_refused() -> None:
    with pytest.raises(ValueError, match="sealed"):
        rewrites(SEALED[0])


def test_an_unscored_set_is_refused() -> None:
    with pytest.raises(ValueError, match="not yet scored"):
        rewrites(UNSCORED[0])


def test_the_module_prints_the_figures_of_a_set() -> None:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "agent_postmortem.evals.blame_rewrites", "regression"],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    counts = json.loads(done.stdout)["regression"]
    assert counts["findings"] > 0 and counts["generic"] + counts["templated"] <= counts["findings"]
