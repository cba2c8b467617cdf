"""Blameless rewrites by the configured model wherever findings are shown: the `check_blameless` MCP tool, the
`postmortem check-blameless` command and the report; the rule-based rewrite when no model is configured, when the
model fails or when its rewrite still blames someone. Each finding says which (`rewritten_by`)."""

import json
import re
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from agent_postmortem.analysis.blame_rewrite import SystemicRewrite
from agent_postmortem.mcp.server import create_server
from agent_postmortem.service.facade import PostmortemService
from tests.factories import FakeLLM, capture, draft, make_service
from tests.fake_openai import FakeOpenAI
from tests.processes import postmortem

pytestmark = pytest.mark.anyio

TEXT = "Dana deployed the migration without reading it. The intern deleted the production table."
# a configured backend (nothing listens there); `llm` is the instance the tests script
CONFIGURED = {"POSTMORTEM_LLM": "openai", "OPENAI_BASE_URL": "http://127.0.0.1:9/v1"}
REWRITE = "Migrations could reach production without a required review step."


async def check(service: PostmortemService, text: str) -> list[dict[str, Any]]:
    async with Client(create_server(lambda: service), raise_exceptions=True) as client:
        result = await client.call_tool("check_blameless", {"text": text})
    assert not result.is_error and result.structured_content is not None
    findings: list[dict[str, Any]] = result.structured_content["findings"]
    return findings


async def test_the_tool_gives_the_models_rewrites_and_the_rules_after_it_fails(tmp_path: Path) -> None:
    llm = FakeLLM(SystemicRewrite(rewrite=REWRITE), RuntimeError("model down"))
    service = make_service(tmp_path / "home", llm=llm, env=CONFIGURED)
    first, second = await check(service, TEXT)
    assert first["rewritten_by"] == "llm" and first["suggestion"] == REWRITE
    assert second["rewritten_by"] == "rules"
    assert second["suggestion"].startswith("The production table was deleted")
    assert len(llm.calls) == 2 and "<DATA-" in llm.calls[0][1]


async def test_the_tool_keeps_the_rules_without_a_configured_model(tmp_path: Path) -> None:
    llm = FakeLLM()  # given to the service, but the settings configure no model (POSTMORTEM_LLM=none)
    findings = await check(make_service(tmp_path / "home", llm=llm), TEXT)
    assert [f["rewritten_by"] for f in findings] == ["rules", "rules"] and llm.calls == []


async def test_the_configured_model_is_never_sent_a_secret_of_the_text_it_rewrites(tmp_path: Path) -> None:
    token = "ghp_" + "Z8q2Lm4Xv7Tb1Nc9Rw3Ky6Hd0Pf5Sa2Ju8Eq"
    llm = FakeLLM(SystemicRewrite(rewrite=REWRITE))
    service = make_service(tmp_path / "home", llm=llm, env=CONFIGURED)
    [finding] = await check(service, f"Dana pushed {token} to the public repo without reading it.")
    assert finding["rewritten_by"] == "llm" and len(llm.calls) == 1
    assert token not in str(llm.calls) and "[REDACTED:github_token]" in str(llm.calls)


async def test_a_finding_never_sends_back_a_secret_of_the_text_it_rewrites(tmp_path: Path) -> None:
    """The rule-based rewrite restates the blaming sentence: "The migration was not run with password=hunter2..."
    came back in the answer, as did a token read as the person to blame. The text is read redacted, the password's
    full stop kept, so the token heads a sentence of its own: the rules never take it for a person (the sentence
    reader reads it as "a credential should have checked it." and flags "should have", as it does a system's)."""
    token = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"
    text = f"She should have run the migration with password=hunter2. {token} should have checked it."
    findings = await check(make_service(tmp_path / "home"), text)
    shown = json.dumps(findings)
    assert "hunter2" not in shown and token not in shown, shown
    first, *rest = findings
    assert "[REDACTED:" in first["suggestion"] and text[first["start"] : first["end"]] == "She should have"
    assert all(f["rule"] == "learned" for f in rest), shown  # no rule reads the token as someone


async def test_a_rewrite_that_still_blames_someone_is_not_used(tmp_path: Path) -> None:
    llm = FakeLLM(SystemicRewrite(rewrite="Dana forgot to read the migration before deploying it."))
    [finding] = await check(make_service(tmp_path / "home", llm=llm, env=CONFIGURED), TEXT.split(". ")[0])
    assert finding["rewritten_by"] == "rules"


def test_the_report_shows_the_models_rewrites_and_says_so(tmp_path: Path) -> None:
    llm = FakeLLM(SystemicRewrite(rewrite=REWRITE))
    service = make_service(tmp_path / "home", llm=llm, env=CONFIGURED)
    incident_id = capture(service, category="rate_limit")
    blaming = draft()
    blaming.whys[1].answer = "Dana deployed the retry change without reading it."
    service.record_analysis(incident_id, blaming, generated_by="assistant")
    report = service.render_report(incident_id)
    assert f"(person_as_cause): {REWRITE} _(rewritten by the configured model)_" in report, report
    plain = make_service(tmp_path / "home")  # the same records, no model configured
    assert "_(rewritten by the rules)_" in plain.render_report(incident_id)


def test_the_command_uses_the_configured_endpoint(tmp_path: Path) -> None:
    sentence = TEXT.split(". ")[0]
    with FakeOpenAI() as fake:
        fake.enqueue(json.dumps({"rewrite": REWRITE}))
        env = {"POSTMORTEM_LLM": "openai", "OPENAI_BASE_URL": fake.base_url, "POSTMORTEM_MODEL": "judge-model"}
        done = postmortem("check-blameless", sentence, "--json", home=tmp_path / "home", env=env)
    assert done.returncode == 1  # something was flagged
    [finding] = json.loads(done.stdout)["findings"]
    assert finding["rewritten_by"] == "llm" and finding["suggestion"] == REWRITE
    without = postmortem("check-blameless", sentence, home=tmp_path / "home")
    assert without.returncode == 1 and "rules" in without.stdout.decode()


@pytest.mark.slow
def test_the_command_runs_with_the_shipped_reader_and_rewrites_the_whole_sentence(tmp_path: Path) -> None:
    sentence = (  # from the external test3 half (development data)
        "As he was trying to fix or replace a finicky piece of equipment, he flipped the wrong switch or cut the wrong "
        "wire or something, and all the lights went out from Orange County to Tijuana to Arizona."
    )
    done = postmortem("check-blameless", sentence, "--json", home=tmp_path / "home")
    assert done.returncode == 1, done.stderr
    [finding] = json.loads(done.stdout)["findings"]
    rewrite = finding["suggestion"]  # the sentence itself, rewritten without the person, not a generic question
    assert rewrite.startswith("The wrong switch was flipped")
    assert "all the lights went out from Orange County" in rewrite and not re.search(r"\b(?:he|his)\b", rewrite)
    system = postmortem("check-blameless", "The API failed to respond within 30 s.", home=tmp_path / "home")
    assert system.returncode == 0


def test_a_reader_that_cannot_run_leaves_the_rules_with_one_warning(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from agent_postmortem.analysis import blame_reader as reader_module
    from agent_postmortem.service import runtime
    from agent_postmortem.service.judging import Judging

    def broken() -> None:
        raise FileNotFoundError("blame-reader.int8.onnx is missing; reinstall agent-postmortem")

    monkeypatch.setattr(reader_module, "shipped", broken)
    runtime.blame_reader.cache_clear()
    try:
        judging = Judging(reader=runtime.blame_reader)
        found = [judging.check_blameless("QA didn't test it properly.") for _ in range(3)]
    finally:
        runtime.blame_reader.cache_clear()
    assert all([f.rule for f in report.findings] == ["person_as_cause"] for report in found)  # the rules decide
    warned = [r for r in caplog.records if "blame sentence reader cannot be loaded" in r.getMessage()]
    assert len(warned) == 1 and "reinstall" in warned[0].getMessage()  # once per process, not per check


def test_a_configured_model_that_cannot_run_is_said_once_and_the_rules_decide(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """POSTMORTEM_LLM=openai with neither an endpoint nor a key: every capture and check said again that the model
    is not available."""
    service = make_service(tmp_path / "home", llm=FakeLLM([]), env={"POSTMORTEM_LLM": "openai"})
    found = [service.check_blameless("QA didn't test it properly.") for _ in range(3)]
    assert all([f.rewritten_by for f in report.findings] == ["rules"] for report in found)
    warned = [r for r in caplog.records if "not available for judgements" in r.getMessage()]
    assert len(warned) == 1 and "POSTMORTEM_LLM=openai needs OPENAI_BASE_URL" in warned[0].getMessage()
