"""Judgements a configured model makes better than rules, with the rules as fallback: a capture's category (the
learned classifier stays as the check) and the rewrites of blaming sentences (the rule-based rewrite stays as the
fallback). Each asks the model within a short time limit and never fails because of it.

The model is the server's own configured one, chosen as drafting chooses it (llm/registry.py): an OpenAI-compatible
endpoint or the user's GGUF, never the bundled 135M model (it drafts when POSTMORTEM_LLM=local names it, but
judges far worse than the learned classifier: docs/architecture.md, decision 6), none under POSTMORTEM_LLM=none or
sampling (the client's model is not asked: a sampling request interrupts the
user, and an assistant that knows the category passes it). POSTMORTEM_JUDGE_TIMEOUT=0 turns it off.
"""

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from agent_postmortem.analysis.blameless import BlamelessReport, Finding, check_blameless, check_parts
from agent_postmortem.analysis.category_llm import fallback, with_model
from agent_postmortem.analysis.classify import CategoryDecision
from agent_postmortem.errors import LLMUnavailable, NothingToCheck
from agent_postmortem.llm.base import LLM
from agent_postmortem.store.models import IncidentCreate

if TYPE_CHECKING:
    from agent_postmortem.analysis.blame_learned import Judge

logger = logging.getLogger(__name__)

DEFAULT_TIME_LIMIT = 10.0
REWRITES_PER_LIMIT = 3  # one text's or document's rewrites together may take this many single time limits
REST_AFTER_FAILURE = 60.0  # seconds a model that failed a category judgement (late, unreachable) is not asked


class Judging:
    def __init__(
        self,
        *,
        judge: Callable[[], LLM | None] = lambda: None,
        time_limit: float = DEFAULT_TIME_LIMIT,
        nonce: Callable[[], str] = lambda: "0",
        reader: "Callable[[], Judge | None]" = lambda: None,
    ) -> None:
        """`judge` provides the configured model (None: there is none); `time_limit`: the seconds one judgement
        (a category, one text's rewrites) may take; `nonce`: each prompt's data delimiter; `reader` provides the
        blame sentence reader (analysis/blame_reader.py; None: the blame rules decide alone)."""
        self.judge = judge
        self.time_limit = time_limit
        self.nonce = nonce
        self.reader = reader
        self._silent_until = (
            0.0  # a hung or down endpoint cost each capture its time limit or retries: one, then a rest
        )

    def model(self) -> LLM | None:
        """The configured model, or None (also when it cannot be started: the rules decide then)."""
        if self.time_limit <= 0:
            return None
        try:
            return self.judge()
        except LLMUnavailable as e:
            logger.warning("the configured model is not available for judgements; the rules decide: %s", e)
            return None

    def category(self, capture: IncidentCreate, read: CategoryDecision) -> CategoryDecision:
        """The model's category for a capture that came without one, checked by the learned classifier's `read`
        (analysis/category_llm.py); `read` when there is no model or the caller gave the category."""
        llm = self.model() if capture.category is None else None
        if llm is None:
            return read
        if time.monotonic() < self._silent_until:
            failed = f"{llm.model} ({llm.backend}) failed a judgement less than a minute ago"
            return fallback(read, f"{failed}, so it was not asked")
        decision = with_model(capture, read, llm, nonce=self.nonce(), time_limit=self.time_limit)
        if decision.source != "model":  # late, unreachable or no answer: asking at once again would cost as much
            self._silent_until = time.monotonic() + REST_AFTER_FAILURE
        return decision

    def check_blameless(self, text: str) -> BlamelessReport:
        """Blaming language in `text`, each finding rewritten by the model when there is one (else by the rules)."""
        if not text.strip():
            raise NothingToCheck()  # "no blaming language" about nothing would pass a gate that was given no text
        # read redacted (analysis/as_read.py): no finding, rewrite or prompt holds a secret the text held; start and
        # end point into the text as sent
        return check_blameless(
            text, llm=self.model(), time_limit=self._rewrites_limit(), nonce=self.nonce(), reader=self.reader()
        )

    def findings(self, parts: list[tuple[str, str]]) -> list[tuple[str, Finding]]:
        """The findings in each (where, text) part of one document, as (where, finding)."""
        return check_parts(
            parts, llm=self.model(), time_limit=self._rewrites_limit(), nonce=self.nonce(), reader=self.reader()
        )

    def _rewrites_limit(self) -> float:
        return self.time_limit * REWRITES_PER_LIMIT  # one text or document holds several blaming sentences
