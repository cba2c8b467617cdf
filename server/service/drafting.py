"""Drafting: the 5 whys, root cause, contributing factors and action items, through whichever writer is available
(the configured LLM, the MCP client's model through sampling, or the assistant itself), all validated and grounded
the same way before they are stored.

Grounding: the prompt carries the incident, its timeline, the most similar past incidents with their root causes
and action items (and whether those closed) and the category's known failure modes; the stored draft may cite only
incidents that were in that context, and proposed items that repeat an open item are linked to it.
"""

import json
import logging
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from agent_postmortem import prompts
from agent_postmortem.analysis.draft_guard import RELEVANCE_MODEL, Similarity, check_draft, guarded, refusal
from agent_postmortem.analysis.grounding import ground
from agent_postmortem.errors import DraftError, DraftTimeout, NoModelConfigured
from agent_postmortem.llm.answers import extract_json
from agent_postmortem.llm.base import LLM
from agent_postmortem.llm.limits import TooLate, within
from agent_postmortem.llm.local import quality_note
from agent_postmortem.render.timeline import bounded
from agent_postmortem.service.draft_text import draft_problems
from agent_postmortem.service.results import WriteItYourself
from agent_postmortem.service.retrieval import Retrieval
from agent_postmortem.store.ids import incident_pk
from agent_postmortem.store.models import ActionItem, Analysis, AnalysisAction, AnalysisDraft, Incident, ProposedAction
from agent_postmortem.store.records.actions import ActionStore
from agent_postmortem.store.records.incidents import IncidentStore
from agent_postmortem.store.redact import redact_model

logger = logging.getLogger(__name__)

# Cosine (all-MiniLM-L6-v2) between a proposed item's title and an open item's at which the proposal repeats it.
# Paraphrased items scored 0.64-0.71 and different items on the same system 0.17-0.45 on a handful of hand pairs.
DUPLICATE_ACTION = 0.6


def configure(where: str) -> str:
    """How to configure a model, set `where` (the server's environment, or the shell a command runs in)."""
    return (
        f"set OPENAI_BASE_URL, OPENAI_API_KEY and POSTMORTEM_MODEL {where} (any OpenAI-compatible endpoint: OpenAI, "
        "Ollama, vLLM, LM Studio, OpenRouter, a LiteLLM proxy), or POSTMORTEM_LOCAL_MODEL to a GGUF file "
        "(docs/drafting.md)"
    )


CONFIGURE = configure("in the server's environment")
_LOCAL = "POSTMORTEM_LLM=local drafts with the bundled 135M model (low quality)"
NO_LLM_HELP = (
    f"no model is configured to draft: {CONFIGURE}; {_LOCAL}. From an MCP client the assistant can write it: "
    "draft_analysis hands it the grounded context and record_analysis stores it"
)
NO_LLM_CLI = (
    f"no model is configured to draft: {configure('in your environment (the shell this command runs in)')}; "
    f"{_LOCAL}; or have the assistant of an MCP client write it (its draft_analysis tool)"
)

Progress = Callable[[int, int, str], None]
"""Told each stage of a server-side draft: (stage, of how many, what is happening)."""


def random_nonce() -> str:
    """A prompt's data delimiter: random per request, so that text inside the data cannot forge it."""
    return secrets.token_hex(8)


@dataclass(frozen=True)
class DraftContext:
    """One drafting request: the prompts, and what the draft may cite and link to."""

    incident: Incident
    system: str
    user: str
    allowed: frozenset[str]
    open_items: list[ActionItem]

    def with_schema(self) -> str:
        """The system prompt for writers without structured output (the client's model, an assistant)."""
        schema = json.dumps(AnalysisDraft.model_json_schema(), separators=(",", ":"))
        return f"{self.system}\n\nThe JSON object must follow this JSON schema:\n{schema}"


class Drafting:
    def __init__(
        self,
        *,
        store: IncidentStore,
        actions: ActionStore,
        retrieval: Retrieval,
        llm: Callable[[], LLM | None],
        clock: Callable[[], datetime],
        nonce: Callable[[], str],
        time_limit: Callable[[str], float] = lambda backend: 120.0,
    ) -> None:
        """`llm` provides the configured LLM when a draft is asked for (None: there is none); `time_limit` says how
        many seconds a draft by a backend may take."""
        self.store = store
        self.actions = actions
        self.retrieval = retrieval
        self.llm = llm
        self.clock = clock
        self.nonce = nonce
        self.time_limit = time_limit

    def draft_context(self, incident_id: str, *, nonce: str | None = None) -> DraftContext:
        """The prompts for drafting an incident's analysis and what the draft may cite and link to. `nonce` (the
        data delimiter) is random unless the caller needs the same prompt twice."""
        incident = self.store.get_or_raise(incident_id)
        similar = self.retrieval.similar_to(incident)
        items = self.actions.for_incidents([incident_pk(s.id) for s in similar], now=self.clock())
        for s in similar:
            s.action_items = [a for a in items if a.incident_id == s.id][:3]
        nonce = nonce or self.nonce()
        own = [a for a in incident.action_items if a.status != "completed"]
        shown = incident.model_copy(update={"timeline": bounded(incident.timeline)})
        return DraftContext(
            incident=incident,
            system=prompts.render("draft_analysis_system", nonce=nonce),
            user=prompts.render("draft_analysis", incident=shown, similar=similar, nonce=nonce, now=self.clock()),
            allowed=frozenset({incident.id, *(s.id for s in similar)}),
            open_items=[*own, *(a for a in items if a.status != "completed")],
        )

    def analysis_prompt(self, incident: Incident) -> tuple[str, str]:
        context = self.draft_context(incident.id)
        return context.system, context.user

    def draft_analysis(self, incident_id: str, *, progress: Progress | None = None) -> Analysis:
        """Draft with the configured LLM (OpenAI-compatible or local) within its time limit; stored as a draft.
        `progress` is told each stage. Raises NoModelConfigured when there is no model, DraftTimeout when it is too
        slow (nothing is stored then). The id is checked first: an unknown one is IncidentNotFound whatever the
        model's state (configuring a model would only lead to that)."""
        tell = progress or (lambda step, of, what: None)
        self.store.get_or_raise(incident_id)
        started = time.monotonic()  # the limit is the whole draft's: starting a local model's server counts too
        llm = self.llm()
        if llm is None:
            raise NoModelConfigured(NO_LLM_HELP, cli=NO_LLM_CLI)
        ready = time.monotonic() - started
        tell(1, 4, "gathering the context: the incident, its timeline, similar incidents")
        context = self.draft_context(incident_id)
        limit = self.time_limit(llm.backend)
        tell(2, 4, f"asking {llm.model} ({llm.backend}) for the draft, at most {limit:g} s in all")
        try:
            output = guarded(context.incident, *self.relevance(context.incident, context.allowed))
            left = limit - (time.monotonic() - started)
            if left <= 0:
                raise TooLate
            draft = within(left, lambda: llm.parse(system=context.system, user=context.user, output=output))
        except TooLate:
            start = f" (getting the model ready took {ready:.0f} s of the limit)" if ready >= 1 else ""
            raise DraftTimeout(
                f"{llm.model} ({llm.backend}) did not finish the draft of {context.incident.id} within {limit:g} s; "
                f"nothing was stored{start}. Try again, raise POSTMORTEM_DRAFT_TIMEOUT, use a faster model, or have "
                "the assistant write it (record_analysis)"
            ) from None
        except DraftError as e:  # it named the schema's class and no next step: what to do was left to guess
            raise DraftError(
                f"{llm.model} ({llm.backend}) answered no usable analysis of {context.incident.id}: {e}; nothing was "
                "stored. Try again, use a larger model (docs/drafting.md), or have the assistant write it "
                "(draft_analysis, then record_analysis)"
            ) from None
        logger.info("%s drafted %s in %.1f s", llm.model, context.incident.id, time.monotonic() - started)
        tell(3, 4, "checking and storing the draft: what an analysis needs, citations, repeated action items")
        analysis = self.store_draft(context, draft, generated_by=llm.backend, llm_model=llm.model)
        tell(4, 4, f"stored as a draft of {context.incident.id}")
        return analysis

    def write_it_yourself(self, incident_id: str, *, why: str) -> WriteItYourself:
        """What the assistant needs to write the analysis itself (`why`: why no model drafts it); stores nothing."""
        context = self.draft_context(incident_id)
        schema = AnalysisDraft.model_json_schema()
        parts = {
            "why": why,
            "incident_id": context.incident.id,
            "configure": CONFIGURE,
            "rules": context.system,
            "context": context.user.strip(),
            "schema": json.dumps(schema, separators=(",", ":")),
        }
        return WriteItYourself(
            incident_id=context.incident.id,
            instructions=prompts.render("write_analysis", **parts).strip(),
            rules=context.system.strip(),
            context=context.user.strip(),
            analysis_schema=schema,
            text=prompts.render("write_analysis_text", **parts).strip(),
        )

    def analysis_problems(self, text: str, incident: Incident) -> str | None:
        """What is wrong with an analysis of `incident` written as text, or None: every reason `store_draft` would
        refuse it for (the relevance check too), for a repair round that asks the writer to fix them."""
        return draft_problems(text, incident, *self.relevance(incident))

    def record_analysis_text(
        self, context: DraftContext, text: str, *, generated_by: str, llm_model: str | None = None
    ) -> Analysis:
        """Validate and store an analysis written as JSON text (by the client's model or by the assistant)."""
        wrong = draft_problems(text)
        if wrong is not None:
            raise DraftError(f"the analysis does not follow the schema ({wrong}); fix those fields and send it again")
        draft = AnalysisDraft.model_validate_json(extract_json(text))
        return self.store_draft(context, draft, generated_by=generated_by, llm_model=llm_model)

    def record_analysis(
        self,
        incident_id: str,
        draft: AnalysisDraft,
        *,
        generated_by: str,
        llm_model: str | None = None,
        accepted: bool = False,
    ) -> Analysis:
        """Store an analysis, grounded against the context a drafter would have had now."""
        context = self.draft_context(incident_id)
        return self.store_draft(context, draft, generated_by=generated_by, llm_model=llm_model, accepted=accepted)

    def store_draft(
        self,
        context: DraftContext,
        draft: AnalysisDraft,
        *,
        generated_by: str,
        llm_model: str | None,
        accepted: bool = False,
    ) -> Analysis:
        """Redact, check, ground and store a draft written for `context`; repeated items are linked to the open ones.
        A draft that is not an analysis (placeholders, repeated whys or items, nothing to do with the incident) is
        refused with the reasons (DraftError) and nothing is stored. A low-quality model's draft says so first among
        its warnings (shown wherever the analysis is)."""
        draft, _ = redact_model(draft)
        verdict = check_draft(draft, context.incident, *self.relevance(context.incident, context.allowed))
        if verdict.problems:
            raise DraftError(refusal(verdict.problems))
        grounded = ground(draft, set(context.allowed))
        actions = self._link_duplicates(grounded.draft.action_items, context.open_items)
        analysis = Analysis(
            **grounded.draft.model_dump(exclude={"action_items"}),
            action_items=actions,
            generated_by=generated_by,
            llm_model=llm_model,
            prompt_version=prompts.PROMPT_VERSION,
            state="accepted" if accepted else "draft",
            created_at=self.clock(),
            cited=grounded.cited,
            removed_citations=grounded.removed_citations,
            warnings=[note for note in [quality_note(llm_model)] if note] + grounded.warnings,
            checks=verdict.passed,
        )
        if grounded.removed_citations:
            logger.info("draft cited incidents outside its context: %s", ", ".join(grounded.removed_citations))
        number = self.store.save_analysis(context.incident.id, analysis)
        return analysis.model_copy(update={"id": number})  # what a review of it names (review_analysis's analysis_id)

    def relevance(
        self, incident: Incident, similar: Iterable[str] | None = None
    ) -> tuple[Similarity | None, list[Incident]]:
        """What the guard's relevance check needs: the similarity (None: no check) and the incident's similar
        incidents (`similar`: their ids, as a draft's context holds them) read whole, so that an analysis that reads
        as one of theirs rather than as one of `incident` is refused."""
        similarity = self.similarity()
        if similarity is None:
            return None, []
        found = [s.id for s in self.retrieval.similar_to(incident)] if similar is None else similar
        ids = sorted(set(found) - {incident.id})
        return similarity, [record for _, record in self.store.get_many(ids) if record is not None]

    def similarity(self) -> Similarity | None:
        """The cosine between two texts by the knowledge base's embedder, for the draft guard's relevance check; None
        (no such check) with an embedder other than the one its threshold was measured on (all-MiniLM-L6-v2)."""
        knowledge = self.retrieval.knowledge
        if not knowledge.embedder.model_id.startswith(RELEVANCE_MODEL):
            return None

        def cosine(a: str, b: str) -> float:
            vectors = knowledge.embed_documents([a, b])
            return float(vectors[0] @ vectors[1])

        return cosine

    def _link_duplicates(self, proposed: list[ProposedAction], open_items: list[ActionItem]) -> list[AnalysisAction]:
        """Proposed items that repeat an open item (same meaning) are linked to it instead of being new work."""
        linked = [AnalysisAction(**p.model_dump()) for p in proposed]
        if not proposed or not open_items:
            return linked
        knowledge = self.retrieval.knowledge
        vectors = knowledge.embed_documents([p.title for p in proposed] + [a.title for a in open_items])
        sims: np.ndarray = vectors[: len(proposed)] @ vectors[len(proposed) :].T
        for row, action in enumerate(linked):
            best = int(np.argmax(sims[row]))
            if sims[row, best] >= DUPLICATE_ACTION:
                action.duplicate_of = open_items[best].id
        return linked
