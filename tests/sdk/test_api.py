"""The agent-code drafting the docs describe (docs/drafting.md, the package docstring), run as a user writes it in a
fresh file: every name it uses imports from the package root."""

import subprocess
import sys
from pathlib import Path

from tests.processes import environment

SNIPPET = """
from agent_postmortem import LLM, IncidentCreate, LLMUnavailable, NoModelConfigured, Settings, build_service

service = build_service(Settings.from_env())
result = service.capture_incident(IncidentCreate(title="refund tool timed out"))
try:
    service.draft_analysis(result.id)
except NoModelConfigured as e:
    assert isinstance(e, LLMUnavailable)
    print("no model:", str(e)[:40])


class Mine:
    backend = "mine"
    model = "my-model"

    def parse(self, *, system, user, output):
        raise LLMUnavailable("my model is down")


assert isinstance(Mine(), LLM)
try:
    build_service(Settings.from_env(), llm=Mine()).draft_analysis(result.id)
except LLMUnavailable as e:
    print("mine:", e)
"""


def test_the_documented_drafting_from_agent_code_runs_with_names_from_the_package_root(tmp_path: Path) -> None:
    """`NoModelConfigured`, which the docs tell agent code to expect, and the `LLM` that `build_service(settings,
    llm=...)` takes could only be imported from internal modules."""
    env = environment(tmp_path, {"POSTMORTEM_LLM": "auto", "OPENAI_API_KEY": "", "OPENAI_BASE_URL": ""})
    done = subprocess.run(
        [sys.executable, "-c", SNIPPET], env=env, capture_output=True, text=True, timeout=300, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.splitlines() == ["no model: no model is configured to draft: set OPE", "mine: my model is down"]


WRITE_IT = """
from agent_postmortem import AnalysisDraft, IncidentCreate, Settings, build_service

service = build_service(Settings.from_env())
result = service.capture_incident(IncidentCreate(title="Refund agent refunded an order twice after a timeout"))
draft = AnalysisDraft(
    whys=[
        {"question": "Why was the order refunded twice?", "answer": "The agent retried the refund after a timeout."},
        {"question": "Why did the retry refund again?", "answer": "The refund tool took no idempotency key."},
        {"question": "Why was there no key?", "answer": "The payments API client never sent one for refunds."},
    ],
    root_cause="The refund tool sent refunds without an idempotency key, so a retry after a timeout refunded again.",
    action_items=[
        {
            "title": "Send an idempotency key with every refund request",
            "owner_role": "payments team",
            "priority": "P0",
            "due_in_days": 7,
            "addresses": "no idempotency key",
        }
    ],
)
print(service.record_analysis(result.id, draft, generated_by="human").state)
print(service.review_analysis(result.id, decision="accept", by="dana").state)
"""


def test_an_analysis_written_by_hand_is_recorded_with_names_from_the_package_root(tmp_path: Path) -> None:
    """`service.record_analysis(id, draft, ...)` (write the analysis yourself, as record_analysis does over MCP) takes
    an AnalysisDraft, which only an internal module gave: agent code had to import `agent_postmortem.store.models`."""
    env = environment(tmp_path, {"POSTMORTEM_LLM": "auto", "OPENAI_API_KEY": "", "OPENAI_BASE_URL": ""})
    done = subprocess.run(
        [sys.executable, "-c", WRITE_IT], env=env, capture_output=True, text=True, timeout=300, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.splitlines() == ["draft", "accepted"]
