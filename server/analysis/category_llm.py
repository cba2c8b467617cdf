"""The category by a configured model, with the learned classifier as fallback and as a check.

The model reads the capture's own fields (inside random-nonce data delimiters; stored text is data, never
instructions) and the labelling guide's order of questions, and answers a small bounded schema (`CategoryAnswer`:
its reason first, then one of the nine categories). Its category is used; the learned classifier's reading
(`categorize.categorize`, neighbours included) stays in the signals, and when the two disagree it is kept as
`classifier_disagrees`. An answer that is late, not valid JSON, not one of the nine, or any other failure of the
model leaves the learned classifier's decision in place, with a signal saying why.
"""

import logging
from typing import Annotated

from pydantic import Field

from agent_postmortem import prompts
from agent_postmortem.analysis.classify import CategoryDecision
from agent_postmortem.llm.base import LLM
from agent_postmortem.llm.limits import TooLate, within
from agent_postmortem.store.models import Category, CategoryCheck, CategoryName, IncidentCreate, Model

logger = logging.getLogger(__name__)

FIELDS = ("title", "error_type", "error_message", "tool", "agent", "environment", "impact", "description")
_LIMITS = {"description": 2500, "error_message": 800, "impact": 600, "stack_trace": 800, "prompt_excerpt": 600}


class CategoryAnswer(Model):
    """What the model must answer: its reason first (a model writing in order judges before it names), then one
    of the nine categories."""

    reason: Annotated[str, Field(min_length=3, max_length=400, description="one sentence: what failed, and why")]
    category: CategoryName


def category_prompt(capture: IncidentCreate, *, nonce: str) -> tuple[str, str]:
    """The system and user prompts asking for the capture's category (its fields shortened to fit a small model)."""
    names = [*FIELDS, "stack_trace", "prompt_excerpt"]
    fields = {name: _shorten(str(getattr(capture, name) or ""), _LIMITS.get(name, 300)) for name in names}
    if len(trace := (capture.stack_trace or "").strip()) > _LIMITS["stack_trace"]:  # its end names the exception
        fields["stack_trace"] = prompts.tail(trace, _LIMITS["stack_trace"])
    system = prompts.render("classify_category_system", nonce=nonce, categories=[c.value for c in Category])
    user = prompts.render("classify_category", fields={k: v for k, v in fields.items() if v}, nonce=nonce)
    return system, user


def _shorten(text: str, limit: int) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def with_model(
    capture: IncidentCreate, read: CategoryDecision, llm: LLM, *, nonce: str, time_limit: float
) -> CategoryDecision:
    """The model's category for a capture the caller gave none, checked against the learned classifier's `read`;
    `read` itself, with a signal saying why, when the model gives no usable answer within `time_limit` seconds."""
    who = f"{llm.model} ({llm.backend})"
    system, user = category_prompt(capture, nonce=nonce)
    try:
        answer = within(time_limit, lambda: llm.parse(system=system, user=user, output=CategoryAnswer))
    except TooLate:
        return fallback(read, f"{who} did not answer within {time_limit:g} s")
    except Exception as e:  # noqa: BLE001 - any failure of the model leaves the learned classifier's decision
        logger.warning("the configured model gave no usable category; the learned classifier decides: %s", e)
        return fallback(read, f"{who} gave no usable answer ({type(e).__name__})")
    chosen = Category(answer.category)
    reason = " ".join(answer.reason.split())
    said = f"the configured model {who} reads {chosen.value}: {reason}"
    if chosen == read.category:
        signals = [said, f"the learned classifier agrees ({read.confidence:.2f})", *read.signals]
        return CategoryDecision(chosen, 1.0, signals, source="model")
    dissent = f"the learned classifier reads {read.category.value} ({read.confidence:.2f}) instead"
    check = CategoryCheck(category=read.category, confidence=read.confidence)
    return CategoryDecision(chosen, 1.0, [said, dissent, *read.signals], check, "model")


def fallback(read: CategoryDecision, why: str) -> CategoryDecision:
    """The learned classifier's `read`, with the reason the model's category is not used first among its signals."""
    note = f"{why}: the learned classifier decides"
    return CategoryDecision(read.category, read.confidence, [note, *read.signals], read.check, read.source)
