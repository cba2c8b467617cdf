"""The settings the product reads, as one list: a variable that looks meant for it and is not one of them is said,
with the setting meant, and the list is the one docs/configuration.md documents."""

import re

from agent_postmortem.setting_values import NAMES, misspelt
from tests.factories import ROOT


def test_a_misspelt_setting_is_said_with_the_one_meant() -> None:
    """POSTMORTEM_MODLE=qwen2.5 or POSTMORTEM_DRAFT_TIMOUT=300 were ignored without a word: drafts went to the default
    model, or stopped at the default time."""
    said = misspelt({"POSTMORTEM_MODLE": "qwen2.5", "POSTMORTEM_DRAFT_TIMOUT": "300", "POSTMORTEM_FOO": "1"})
    assert said == [
        "POSTMORTEM_DRAFT_TIMOUT is not a setting of agent-postmortem and is ignored: did you mean "
        "POSTMORTEM_DRAFT_TIMEOUT?",
        "POSTMORTEM_FOO is not a setting of agent-postmortem and is ignored (docs/configuration.md lists them)",
        "POSTMORTEM_MODLE is not a setting of agent-postmortem and is ignored: did you mean POSTMORTEM_MODEL?",
    ]
    assert not any("qwen" in s or "300" in s for s in said)


def test_every_setting_and_the_projects_own_variables_are_not_said() -> None:
    own = dict.fromkeys([*NAMES, "POSTMORTEM_TEST_DATABASE_URL", "POSTMORTEM_AIID", "_POSTMORTEM_COMPLETE"], "1")
    assert misspelt({**own, "PATH": "/bin", "OPENAI_ORGANIZATION": "org"}) == []


def test_an_older_clients_name_for_the_endpoint_is_said_when_the_one_read_is_not_set() -> None:
    """OPENAI_API_BASE (older OpenAI clients' name) set alone sent drafts to OpenAI's own endpoint, unsaid."""
    assert misspelt({"OPENAI_API_BASE": "http://127.0.0.1:11434/v1"}) == [
        "OPENAI_API_BASE is set and OPENAI_BASE_URL is not: agent-postmortem reads OPENAI_BASE_URL"
    ]
    assert misspelt({"OPENAI_API_BASE": "http://a/v1", "OPENAI_BASE_URL": "http://a/v1"}) == []


def test_the_settings_read_are_the_settings_documented() -> None:
    page = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^\| `([A-Z_]+)` \|", page, re.MULTILINE)) - {"HF_HUB_OFFLINE"}
    assert documented == set(NAMES)
