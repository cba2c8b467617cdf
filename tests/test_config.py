"""Settings.from_env as a user's environment gives it: a variable set to blanks reads as unset, a value comes without
the spaces and line break around it, and a key or token with a line break inside is refused without repeating it."""

import os
from pathlib import Path

import pytest

from agent_postmortem.config import Settings


@pytest.mark.parametrize("blank", ["", " ", "\n", " \t "])
def test_a_setting_set_to_blanks_reads_as_unset(tmp_path: Path, blank: str) -> None:
    """An MCP config's `"POSTMORTEM_LLM": ""` was refused as "must be one of auto, ...", POSTMORTEM_LOCAL_THREADS=" "
    as "must be a whole number", POSTMORTEM_TEAM=" " as an invalid team name, and POSTMORTEM_HOME=" " made a home
    named " " in the working directory; the same variables unset were the defaults."""
    names = ["POSTMORTEM_LLM", "POSTMORTEM_EMBEDDER", "POSTMORTEM_LOCAL_THREADS", "POSTMORTEM_HTTP_RATE"]
    names += ["POSTMORTEM_TEAM", "POSTMORTEM_MODEL", "OPENAI_API_KEY", "POSTMORTEM_HTTP_TOKEN"]
    names += ["POSTMORTEM_LOCAL_MODEL", "POSTMORTEM_CHROMA_DATABASE", "POSTMORTEM_HTTP_STATELESS"]
    names += ["POSTMORTEM_MODEL_CACHE", "POSTMORTEM_TOKENS_FILE", "POSTMORTEM_TRIAGE_POLICY"]
    base = {"POSTMORTEM_HOME": str(tmp_path), "HOME": str(tmp_path)}
    unset = Settings.from_env(base)
    blanked = Settings.from_env({**base, **dict.fromkeys(names, blank)})
    assert blanked == unset
    chosen = (blanked.llm_backend, blanked.embedder, blanked.local_threads, blanked.team)
    assert chosen == ("auto", "onnx-int8", 1, "default")
    assert blanked.model is None and blanked.openai_api_key is None and blanked.http_token is None
    assert Settings.from_env({"POSTMORTEM_HOME": blank, "HOME": str(tmp_path)}).home != Path(blank)


def test_a_value_is_read_without_the_spaces_and_line_break_around_it(tmp_path: Path) -> None:
    """An API key pasted with its line break made every request fail as "cannot reach the LLM endpoint; check
    OPENAI_BASE_URL" (the HTTP client refuses a header holding one), and a server token with one matched no client."""
    settings = Settings.from_env(
        {
            "POSTMORTEM_HOME": str(tmp_path),
            "OPENAI_API_KEY": "sk-test-123\n",
            "POSTMORTEM_HTTP_TOKEN": " a-token-of-thirty-two-characters-long \n",
            "POSTMORTEM_MODEL": " qwen2.5:7b-instruct ",
            "POSTMORTEM_LLM": " local\n",
        }
    )
    assert settings.openai_api_key == "sk-test-123" and settings.model == "qwen2.5:7b-instruct"
    assert settings.http_token == "a-token-of-thirty-two-characters-long" and settings.llm_backend == "local"


@pytest.mark.parametrize("name", ["OPENAI_API_KEY", "POSTMORTEM_HTTP_TOKEN"])
def test_a_key_with_a_line_break_inside_is_refused_without_repeating_it(tmp_path: Path, name: str) -> None:
    with pytest.raises(ValueError, match=f"{name} holds a line break or control character") as refused:
        Settings.from_env({"POSTMORTEM_HOME": str(tmp_path), name: "sk-CANARY\nsecond-line"})
    assert "CANARY" not in str(refused.value)


def test_more_llama_threads_than_cpus_is_refused_in_one_sentence(tmp_path: Path) -> None:
    """POSTMORTEM_LOCAL_THREADS=100000 ended `postmortem draft` with a segmentation fault (exit 139) as llama.cpp
    started the threads; more threads than CPUs only make it slower."""
    cpus = os.cpu_count() or 1
    home = {"POSTMORTEM_HOME": str(tmp_path)}
    assert Settings.from_env({**home, "POSTMORTEM_LOCAL_THREADS": str(cpus)}).local_threads == cpus
    for value in (str(cpus + 1), "100000"):
        with pytest.raises(ValueError) as refused:
            Settings.from_env({**home, "POSTMORTEM_LOCAL_THREADS": value})
        said = f"POSTMORTEM_LOCAL_THREADS must be a whole number of at least 1 and at most {cpus} (this machine's CPU"
        assert str(refused.value).startswith(said)


def test_a_model_cache_that_names_a_file_is_refused_naming_the_setting(tmp_path: Path) -> None:
    """POSTMORTEM_EMBEDDER=onnx with POSTMORTEM_MODEL_CACHE naming a file failed at the first capture as "PATH is a
    file: give a directory to write in, or a new name", naming no setting."""
    cache = tmp_path / "cache.txt"
    cache.write_text("not a directory")
    with pytest.raises(ValueError, match="POSTMORTEM_MODEL_CACHE names a file, .*cache.txt: point it at a directory"):
        Settings.from_env({"POSTMORTEM_HOME": str(tmp_path), "POSTMORTEM_MODEL_CACHE": str(cache)})
    made = Settings.from_env({"POSTMORTEM_HOME": str(tmp_path), "POSTMORTEM_MODEL_CACHE": str(tmp_path / "new")})
    assert made.model_cache == tmp_path / "new"
