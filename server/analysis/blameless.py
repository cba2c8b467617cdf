"""Blameless language: find phrasing that makes a person the cause, and rewrite the sentence into a systemic one.

A post-mortem asks what in the system allowed a failure. `check_blameless` finds every stretch of text where a
person or a team is the agent of a failure (server/blame.py: names, roles, pronouns, possessives, passives with a
person as agent, "human error", "should have", judgements) and returns it with its span, the rule, and a rewrite of
the whole sentence that names the missing safeguard instead of the person (server/blame_rewrite.py; by the
configured model when one is given, validated and within a time limit, the rule-based rewrite otherwise; the service
passes the model: service/judging.py). Systems failing ("the API failed to respond",
"the migration dropped the table") are never flagged.

With `reader` (the fine-tuned sentence reader, server/analysis/blame_reader.py; the service passes the shipped one),
every sentence is also read whole (server/analysis/blame_learned.py): a sentence the rules found nothing in whose
probability reaches the reader's threshold becomes a finding of rule "learned" that covers the sentence, with a
systemic rewrite; a sentence the rules flagged whose probability is under the reader's veto loses its rule findings.
Without `reader` (the report renderer) the rules decide alone.
"""

import logging
import re
import time
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, Field

from agent_postmortem.analysis.as_read import as_read, shown
from agent_postmortem.analysis.blame import detect
from agent_postmortem.analysis.blame_learned import Judge, learned_rewrite, model_findings, systemic, vetoed
from agent_postmortem.analysis.blame_rewrite import StillBlames, ask_rewrite, rule_rewrite
from agent_postmortem.analysis.blocks import unwrapped
from agent_postmortem.llm.limits import within

if TYPE_CHECKING:
    from agent_postmortem.llm.base import LLM

logger = logging.getLogger(__name__)
DEFAULT_TIME_LIMIT = 30.0  # seconds for all of one text's model rewrites


class Finding(BaseModel):
    start: int
    end: int
    text: str
    rule: str
    suggestion: str
    rewritten_by: Literal["llm", "rules"] = Field(
        default="rules", description="llm: rewritten by the configured model; rules: the rule-based rewrite"
    )
    probability: float | None = Field(
        default=None,
        description="for a finding of rule 'learned': the sentence reader's probability that it blames a person",
    )


class BlamelessReport(BaseModel):
    blameless: bool
    findings: list[Finding]


def _sentence_bounds(text: str, start: int, end: int) -> tuple[int, int]:
    before = [m.end() for m in re.finditer(r"[.!?]\s+|\n", text[:start])]
    after = re.search(r"[.!?](?=\s|$)|\n", text[end:])
    return (before[-1] if before else 0), (end + after.end() if after else len(text))


def check_blameless(
    text: str,
    *,
    llm: "LLM | None" = None,
    time_limit: float = DEFAULT_TIME_LIMIT,
    nonce: str = "0",
    reader: Judge | None = None,
) -> BlamelessReport:
    """Every blaming stretch of `text` with a systemic rewrite of its sentence: by `llm` when given and its answer is
    valid, within `time_limit` seconds for the whole text (after that, or once the model fails, the rest keep
    their rule-based rewrites); the rule-based rewrite otherwise. `rewritten_by` says which. With `reader`, the
    sentence reader also decides (see the module's docstring)."""
    findings = _findings(text, _Rewriter(llm, time_limit, nonce), reader)
    return BlamelessReport(blameless=not findings, findings=findings)


def check_parts(
    parts: list[tuple[str, str]],
    *,
    llm: "LLM | None" = None,
    time_limit: float = DEFAULT_TIME_LIMIT,
    nonce: str = "0",
    reader: Judge | None = None,
) -> list[tuple[str, Finding]]:
    """The findings in each (where, text) part of one document, as (where, finding), all the model's rewrites
    within one `time_limit`."""
    rewriter = _Rewriter(llm, time_limit, nonce)
    return [(where, f) for where, text in parts for f in _findings(text, rewriter, reader)]


# What a draft holds that is not prose, blanked to spaces of the same length so every offset stays the document's:
# fenced code and logs (a "# Bob forgot ..." comment is code), HTML tags; a table row's cell bars end its cells.
_FENCE = re.compile(r"^[ \t]{0,3}(```|~~~).*?(?:^[ \t]{0,3}\1[^\n]*$|\Z)", re.M | re.S)
_TAG = re.compile(r"</?[A-Za-z][\w-]*(?:\s[^<>]{0,300})?/?>")
_TABLE_ROW = re.compile(r"^[ \t]*\|.*\|[ \t]*$", re.M)


def prose(text: str) -> str:
    """`text` as the checks read it: code fences and HTML tags blanked, table cells cut apart, offsets unchanged."""
    text = _TAG.sub(_blank, _FENCE.sub(_blank, text))
    return _TABLE_ROW.sub(lambda m: m.group(0).replace("|", "\n"), text)


def _blank(match: re.Match[str]) -> str:
    return re.sub(r"[^\n]", " ", match.group(0))


def _findings(sent: str, rewriter: "_Rewriter", reader: Judge | None) -> list[Finding]:
    """The findings in `sent`, read once redacted and without markup (as_read.py): offsets into `sent` as it was
    sent, quotes and rewrites without its secrets, and no secret asked of the model."""
    read = as_read(sent)
    found = []
    for f in _read_findings(read.text, rewriter, reader):
        start, end = read.back(f.start, f.end)
        found.append(
            f.model_copy(update={"start": start, "end": end, "text": shown(f.text), "suggestion": shown(f.suggestion)})
        )
    return found


def _read_findings(text: str, rewriter: "_Rewriter", reader: Judge | None) -> list[Finding]:
    text = unwrapped(prose(text))  # a wrapped sentence is one sentence, for its bounds and its rewrite
    findings = _rule_findings(text, rewriter)
    if reader is None:
        return findings
    ruled = [(f.start, f.end) for f in findings]
    for out in vetoed(text, ruled, reader):  # the reader overrules the rules' spans in this sentence
        findings = [f for f in findings if not (out.start < f.end and f.start < out.end)]
    ruled = [_sentence_bounds(text, f.start, f.end) for f in findings]
    for flagged in model_findings(text, ruled, reader):
        sentence = text[flagged.start : flagged.end]
        rewrite, by = rewriter.rewrite(sentence, learned_rewrite(sentence))
        findings.append(
            Finding(start=flagged.start, end=flagged.end, text=sentence, rule="learned", suggestion=rewrite,
                    rewritten_by=by, probability=flagged.probability)
        )  # fmt: skip
    return sorted(findings, key=lambda f: f.start)


def _rule_findings(text: str, rewriter: "_Rewriter") -> list[Finding]:
    findings = []
    for span in detect(text):
        s_start, s_end = _sentence_bounds(text, span.start, span.end)
        sentence = text[s_start:s_end].strip()
        local = type(span)(span.start - s_start - (len(text[s_start:s_end]) - len(text[s_start:s_end].lstrip())),
                           span.end - s_start, span.rule, span.agent)  # fmt: skip
        rewrite, by = rewriter.rewrite(sentence, systemic(sentence, rule_rewrite(sentence, local)))
        findings.append(
            Finding(
                start=span.start,
                end=span.end,
                text=text[span.start : span.end],
                rule=span.rule,
                suggestion=rewrite,
                rewritten_by=by,
            )  # fmt: skip
        )
    return findings


class _Rewriter:
    """The model's rewrites of one text's sentences: each sentence asked once, all within one time limit, and none
    asked after the model failed (a model that is down or slow for one sentence is for the next)."""

    def __init__(self, llm: "LLM | None", time_limit: float, nonce: str) -> None:
        self.llm = llm
        self.deadline = time.monotonic() + time_limit
        self.nonce = nonce
        self.done: dict[str, str] = {}

    def rewrite(self, sentence: str, fallback: str) -> tuple[str, Literal["llm", "rules"]]:
        if sentence in self.done:
            return self.done[sentence], "llm"
        llm, left = self.llm, self.deadline - time.monotonic()
        if llm is None or left <= 0:
            return fallback, "rules"
        asked = shown(sentence), shown(fallback)  # read redacted (as_read.py): no secret for the model to read
        try:
            text = within(left, lambda: ask_rewrite(*asked, llm, nonce=self.nonce))
        except StillBlames:
            return fallback, "rules"
        except Exception as e:  # noqa: BLE001 - any model failure leaves the rule-based rewrites in place
            logger.warning("the model could not rewrite blaming sentences; keeping the rule-based rewrites: %r", e)
            self.llm = None
            return fallback, "rules"
        self.done[sentence] = text
        return text, "llm"
