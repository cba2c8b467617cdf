"""Facts in a capture that rule categories out, whatever the learned classifier reads (labelling guide,
evals/data/failures/GUIDE.md, sections 2 and 4).

* **Python's own exception classes carry meaning.** A failure whose exception is a built-in connection error
  (`ConnectionRefusedError`, `ConnectionResetError`, `ConnectionAbortedError`, `BrokenPipeError`) or `MemoryError`
  is the platform under the agent (question 9: connection refused or reset, out-of-memory): infrastructure.
  `RecursionError` is Python's stack limit, a bug in the code that recursed (question 8: tool errors and
  exceptions): tool_failure, not the timeout that an agent framework's step budget (`GraphRecursionError`,
  "recursion limit of 25 reached") is. Only the guide's first two questions still win over the exception: text
  that states an attack (prompt_injection) or data lost (data_corruption) keeps those categories open.
* **A refusal word inside a service's error is not a model refusing** (question 3: "read what refused"):
  `card_declined`, "payment declined", "connection refused". When every refusal word in the capture is of that
  kind, llm_refusal is ruled out; "I can't help with that" or "the model declined to answer" keep it.
* **An error message that is not text states nothing** (binary junk, a bytes repr): a model's behaviour is read
  from its words, so llm_hallucination, llm_refusal and prompt_injection are ruled out unless the rest of the
  capture has their keywords or cues.

The learned probabilities of the categories left are renormalised, so the classifier still ranks what remains.
"""

import re

import numpy as np

from agent_postmortem.analysis.category_model import CLASSES, CUES, cue_features, rule_features
from agent_postmortem.store.models import Category, IncidentCreate

_PLATFORM_ERRORS = frozenset(
    {"ConnectionRefusedError", "ConnectionResetError", "ConnectionAbortedError", "BrokenPipeError", "MemoryError"}
)
_EXCEPTION_CATEGORY = dict.fromkeys(_PLATFORM_ERRORS, Category.INFRASTRUCTURE) | {
    "RecursionError": Category.TOOL_FAILURE
}
# The guide's questions asked before the others, with the cue that states each in the capture's own words.
_FIRST_QUESTIONS = {
    Category.PROMPT_INJECTION: "instructions overriding the system's",
    Category.DATA_CORRUPTION: "data deleted, lost or overwritten",
}
_CUE_INDEX = {name: i for i, (name, _) in enumerate(CUES)}
_REFUSAL_CUE = _CUE_INDEX["a model or filter declining"]
# A refusal word bound to a service, a socket or a payment: an error code (`card_declined`, `ECONNREFUSED` is
# already not a refusal word), the thing declined or refused named before it, or the one that declined after it.
_SERVICE_REFUSAL = re.compile(
    r"\w+_(declined|refused|rejected)\b|"
    r"\b(connection|card|payment|charge|transaction|authori[sz]ation)s? (was |were |has been |is )?"
    r"(declined|refused)\b|"
    r"\b(declined|refused) by (the )?(bank|issuer|card|server|host|service|api|gateway|processor|peer)\b",
    re.IGNORECASE,
)
# The model-behaviour categories, with the cue that states each.
_MODEL_BEHAVIOUR = {
    Category.LLM_HALLUCINATION: "something invented",
    Category.LLM_REFUSAL: "a model or filter declining",
    Category.PROMPT_INJECTION: "instructions overriding the system's",
}
_ESCAPE = re.compile(r"\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|[nrt0])")
_WORD = re.compile(r"[^\W\d_]{3,}")
JUNK_MIN_CHARS = 8
JUNK_WORD_SHARE = 0.3  # a message with fewer of its characters in words (3+ letters) than this is not text
_TEXT_FIELDS = ("title", "description", "error_type", "error_message", "stack_trace", "tool", "impact")


def exception_class(capture: IncidentCreate) -> str | None:
    """The built-in exception class the capture's error type names (`builtins.` allowed), or None."""
    name = (capture.error_type or "").strip()
    module, _, cls = name.rpartition(".")
    return cls if module in ("", "builtins") and cls in _EXCEPTION_CATEGORY else None


def _states_a_refusal(capture: IncidentCreate) -> bool:
    """Whether the refusal keywords or the refusal cue find anything in the capture."""
    return bool(cue_features(capture)[_REFUSAL_CUE] or rule_features(capture)[0][CLASSES.index(Category.LLM_REFUSAL)])


def _only_service_refusals(capture: IncidentCreate) -> bool:
    """Whether the capture has refusal wording and all of it is a service's (see the module)."""
    if not _states_a_refusal(capture):
        return False
    update = {f: _SERVICE_REFUSAL.sub(" ", v) for f in _TEXT_FIELDS if isinstance(v := getattr(capture, f), str)}
    return not _states_a_refusal(capture.model_copy(update=update))


def unreadable(message: str | None) -> bool:
    """Whether an error message is not text: binary junk or a bytes repr, with almost none of it in words."""
    text = _ESCAPE.sub("\x00", (message or "").strip())
    if len(text) < JUNK_MIN_CHARS:
        return False
    return sum(len(w) for w in _WORD.findall(text.replace("\ufffd", "\x00"))) < JUNK_WORD_SHARE * len(text)


def _unstated_behaviour(capture: IncidentCreate) -> set[Category]:
    """The model-behaviour categories nothing in the capture states by a keyword or a cue."""
    scores, _ = rule_features(capture)
    cues = cue_features(capture)
    return {c for c, cue in _MODEL_BEHAVIOUR.items() if not scores[CLASSES.index(c)] and not cues[_CUE_INDEX[cue]]}


def ruled_out(capture: IncidentCreate) -> tuple[set[Category], list[str]]:
    """The categories the capture's facts rule out, and why (one signal per fact)."""
    out: set[Category] = set()
    why: list[str] = []
    cls = exception_class(capture)
    if cls is not None:
        kept = {_EXCEPTION_CATEGORY[cls]}
        cues = cue_features(capture)
        kept |= {c for c, cue in _FIRST_QUESTIONS.items() if cues[_CUE_INDEX[cue]]}
        out |= set(CLASSES) - kept
        why.append(f"the exception {cls} is {_EXCEPTION_CATEGORY[cls].value} (labelling guide)")
    if _only_service_refusals(capture):
        out.add(Category.LLM_REFUSAL)
        why.append("its refusal words are a service's or a connection's, not a model refusing (labelling guide)")
    if unreadable(capture.error_message) and (unstated := _unstated_behaviour(capture)):
        out |= unstated
        why.append("its error message is not text: it states no model behaviour")
    return out, why


def apply(capture: IncidentCreate, p: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """The probabilities with the ruled-out categories at zero, renormalised, and the signals saying why (none, and
    `p` unchanged, when no fact applies or the facts would leave nothing)."""
    out, why = ruled_out(capture)
    mask = np.array([c not in out for c in CLASSES], dtype=np.float64)
    kept = p * mask
    if not out or kept.sum() <= 0:
        return p, []
    result: np.ndarray = kept / kept.sum()
    return result, why
