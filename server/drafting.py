"""Drafting: the 5 whys, root cause, contributing factors and action items, through whichever writer is available
(the configured LLM, the MCP client's model, or the assistant itself), all validated and grounded the same way."""

import logging
from collections.abc import Callable

import prompts
from server.errors import LLMUnavailable
from server.lessons import Lessons
from server.llm import LLM
from store.models import Analysis, AnalysisDraft, Incident

logger = logging.getLogger(__name__)

NO_LLM_HELP = (
    "no LLM is configured for drafting: set OPENAI_BASE_URL/OPENAI_API_KEY and POSTMORTEM_MODEL for an "
    "OpenAI-compatible endpoint, or POSTMORTEM_LLM=local with xllamacpp installed (POSTMORTEM_LOCAL_MODEL "
    "names a GGUF file); an MCP assistant can also write the analysis itself with the five_whys prompt "
    "and record_analysis"
)


class Drafting(Lessons):
    _llm: Callable[[], LLM | None]
    nonce: Callable[[], str]

    def draft_analysis(self, incident_id: str) -> Analysis:
        """Draft the 5 whys, root cause, factors and action items with the configured LLM; stored as a draft."""
        incident = self.store.get_or_raise(incident_id)
        llm = self._llm()
        if llm is None:
            raise LLMUnavailable(NO_LLM_HELP)
        system, user = self.analysis_prompt(incident)
        draft = llm.parse(system=system, user=user, output=AnalysisDraft)
        return self.record_analysis(incident.id, draft, generated_by=llm.backend, llm_model=llm.model)

    def analysis_prompt(self, incident: Incident) -> tuple[str, str]:
        similar = self._similar_to(incident)
        for s in similar:
            s.action_items = self.actions.list_items(now=self.clock(), incident_id_=s.id, limit=3)
        nonce = self.nonce()
        return (
            prompts.render("draft_analysis_system", nonce=nonce),
            prompts.render("draft_analysis", incident=incident, similar=similar, nonce=nonce, now=self.clock()),
        )

    def record_analysis(
        self,
        incident_id: str,
        draft: AnalysisDraft,
        *,
        generated_by: str,
        llm_model: str | None = None,
        accepted: bool = False,
    ) -> Analysis:
        analysis = Analysis(
            **draft.model_dump(),
            generated_by=generated_by,
            llm_model=llm_model,
            prompt_version=prompts.PROMPT_VERSION,
            state="accepted" if accepted else "draft",
            created_at=self.clock(),
        )
        self.store.save_analysis(incident_id, analysis)
        return analysis
