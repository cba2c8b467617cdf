"""The eval's assistant backend: the real `postmortem serve` over stdio hands the writer the context, and the
reference analysis written through record_analysis scores exactly as when it is stored directly."""

from pathlib import Path

import pytest

from agent_postmortem.cli.demo import SEED
from agent_postmortem.config import Settings
from agent_postmortem.evals.assistant import Scripted, write
from agent_postmortem.evals.cases import load_cases
from agent_postmortem.evals.drafts import reference_draft
from agent_postmortem.evals.runner import run
from agent_postmortem.store.models import IncidentCreate
from agent_postmortem.store.search.embedding import Embedder
from tests.factories import CAPTURE, draft, make_service
from tests.fake_openai import FakeOpenAI

pytestmark = pytest.mark.slow


def test_the_writer_is_shown_the_context_and_its_analysis_is_stored_through_record_analysis(
    tmp_path: Path, embedder: Embedder
) -> None:
    service = make_service(tmp_path, embedder=embedder)
    incident_id = service.capture_incident(IncidentCreate.model_validate(CAPTURE)).id
    writer = Scripted(draft())
    written = write(tmp_path, incident_id, writer, Settings.from_env())
    [shown] = writer.shown
    assert shown.startswith("Nothing has been drafted or stored yet") and CAPTURE["title"] in shown
    assert f'record_analysis tool with incident_id "{incident_id}"' in shown and written.context_chars == len(shown)
    assert written.analysis.generated_by == "assistant" and written.analysis.root_cause == draft().root_cause
    assert service.get_incident(incident_id).analysis == written.analysis
    assert 0 < written.seconds < 30


def test_the_assistant_path_loses_nothing_of_the_reference_analysis(embedder: Embedder) -> None:
    cases = load_cases("01_*") + load_cases("50_*")  # an agent incident and a multi-agent trace
    reference = run(cases, backend="reference", embedder=embedder, seed_path=SEED)
    through = run(cases, backend="assistant", embedder=embedder, seed_path=SEED)
    for direct, assisted in zip(reference.cases, through.cases, strict=True):
        scores = [[(s.name, s.passed, s.value) for s in sample] for sample in direct.samples]
        assert [[(s.name, s.passed, s.value) for s in sample] for sample in assisted.samples] == scores, direct.name
    assert through.assistant is not None and reference.assistant is None
    assert through.model is not None and "stdio" in through.model


def test_a_configured_model_plays_the_assistant_reading_what_draft_analysis_answered(
    embedder: Embedder, model_cache: Path
) -> None:
    cases = load_cases("01_*")
    with FakeOpenAI() as endpoint:  # the model answers with an analysis of this case's incident (the guard refuses
        endpoint.enqueue(reference_draft(cases[0].case).model_dump_json())  # one of another incident)
        env = {"OPENAI_BASE_URL": endpoint.base_url, "POSTMORTEM_MODEL": "helper-model"}
        settings = Settings.from_env({**env, "POSTMORTEM_MODEL_CACHE": str(model_cache)})
        result = run(cases, backend="assistant-model", settings=settings, embedder=embedder, seed_path=SEED)
    [request] = endpoint.requests
    system, user = request["messages"]
    assert "draft_analysis tool answered" in system["content"]
    assert user["content"].startswith("Nothing has been drafted or stored yet") and "record_analysis" in user["content"]
    assert result.overall["schema_valid"].passed == 1 and result.model is not None and "helper-model" in result.model
