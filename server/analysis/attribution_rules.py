"""The rule-based attributor's choice of the decisive step in a failed multi-agent run, with no LLM.

Eight rules, tried in order (each designed on the `design` half of the Who&When development runs only; the
figures on both halves and what each rule changed are in docs/multi-agent.md):

1. **A coordinator declared the request satisfied.** A run that failed although its coordinator judged the
   request done (the Magentic-One ledger's `"is_request_satisfied": {..., "answer": true}`) failed at that
   judgement: the coordinator accepted an answer nobody had verified, and wrote the final answer from it.
2. **The first step that states new figures.** The earliest substantive action whose prose (outside code blocks,
   links and list numbering) holds at least `NEW_FIGURES` numbers that appear nowhere in the task or in any
   earlier step: values the run had not found yet, so the agent assumed, simulated, remembered or invented them,
   and later steps built on them. A single new figure is enough when the step says it guesses ("assuming the
   latest data is from 2022"). A step that only plans, searches or delegates states no such figures.
3. **The first claim to read or watch a source with no tool to do it.** An action without code that says the agent
   will open, watch or review a page, video or file (or has done so), not followed by a tool's output: nothing
   in the run read that source, so what the agent reports from it is invented.
4. **The run ended stuck on failing tools.** When the run's last tool outputs (at least `STUCK_FAILURES` of them,
   with no successful one in between; a terminal that had nothing to run does not count) all report an error or
   print nothing but labels, the run never recovered from the first of them: the action that asked for it is
   where the run got stuck, and everything after only repeated the failure.
5. **The run ended on the last attempt of the agent that took the task on.** When no action follows the run's last
   tool output (a terminal that had nothing to run does not count), and the action that asked for it was written by
   the agent that wrote the first action, that action is decisive: the agent was still at the task when the run
   stopped, and what its last attempt returned (a result or a failure) is what the run ended with, read by no one.
   When another agent wrote it, it was checking the first agent's work, and rule 8 blames that work.
6. **The run's conclusion accepted a null result.** When the run's last action has no code and states that the
   answer is zero or that nothing was found or fits ("the probability ... is 0.00%", "no members ... fit that
   criterion"), that conclusion is decisive: a task asks for something that exists, and the agent accepted an empty
   result as the answer instead of questioning the search or the data that produced it.
7. **The brief handed on invented results.** When the run opens with a brief (the task handed to the first agent
   with the results of an earlier round) whose results say they come from mock, simulated or placeholder data, or
   from sources checked by hand, the brief is decisive: it is where values no tool read entered the run, and the
   agents after it worked from them.
8. **The first substantive action** (the rule before these seven): the earliest step by an agent that is not tool or
   code output (a terminal's, or a page dump sent under an agent's name), not the human asking, not a routing,
   planning or delegating message, and not the task statement handed to the first agent. A wrong first move is
   what the later steps build on.

Failing all eight, the first step by an agent that is not a tool or the human, then the first step.
Everything here works on plain steps (`who`, `role`, `name`, `content`), so it can be tested on small traces.
"""

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

NEW_FIGURES = 3  # 2 to 6 choose the same steps on the design half but one or two runs; 3 sits in the middle

STUCK_FAILURES = 2  # one failure at the end is often the last check of a run that had its answer

Rule = Literal[
    "verdict", "new_figures", "unread_source", "stuck", "last_attempt", "null_result", "invented_brief",
    "first_action", "fallback",
]  # fmt: skip

# Steps that are not an agent's own decision: tool and code-execution output, the human asking, routing.
# A tool is named by its last word or by a tool word among its words ("Computer_terminal", "code_executor",
# "user_proxy"), not by a word inside an expert's field ("WomenInComputerScienceHistory_Expert" is an agent).
TOOL_WORDS = frozenset({"terminal", "executor", "interpreter", "proxy", "tool", "tools", "console", "shell"})
AGENT_WORDS = frozenset({"expert", "agent", "specialist", "analyst", "assistant", "engineer", "planner"})
_NAME_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")
HUMAN = re.compile(r"^(human|user)$", re.IGNORECASE)
ROUTING = re.compile(
    r"^\s*(next speaker|initial plan|updated ledger|request satisfied|no agent selected|terminate\b)", re.IGNORECASE
)
# Tool output under an agent's name: code execution, or a browser's page dump ("Address: …\nTitle: …").
TOOL_OUTPUT = re.compile(r"^\s*(?:exit ?code\s*:|address:[^\n]*\n\s*title:)", re.IGNORECASE)
# What the reason mentions when the chosen step shows it (they do not change the choice: docs/multi-agent.md).
ERROR = re.compile(r"exit ?code:? *[1-9]|traceback|\berror\b|exception|failed|not found|\b404\b|timed? ?out", re.I)
GUESS = re.compile(
    r"simulat\w*|assum\w*|hypothetical\w*|placeholder|for demonstration|example data|pretend\w*|manually \w+", re.I
)
_VERDICT = re.compile(r'"is_request_satisfied"\s*:\s*\{[^{}]{0,3000}?"answer"\s*:\s*true\b', re.IGNORECASE)
_CODE = re.compile(r"```.*?(?:```|$)|`[^`\n]*`", re.DOTALL)
_LINK = re.compile(r"\]\([^)\s]*\)|\b(?:https?|file)://\S+|\bwww\.\S+")
_ENUMERATION = re.compile(r"^[ \t>*#-]*(?:step\s+)?\d{1,2}[.):]\s", re.IGNORECASE | re.MULTILINE)  # "1. Rat", "Step 2:"
_NUMBER = re.compile(r"(?<![\w.])\d[\d,]*(?:\.\d+)?")
# Reading a source: "I will watch the video", "I have manually checked the page", "Upon visiting the site".
_SOURCE = r"(?:video|link|page|website|site|source|article|image|document|pdf|paper|file|url|banner|photo|recording)s?"
_READ = r"(?:watch|open|visit|review|examine|read|look at|go through|inspect|check|access|view|browse)"
_HAVE_READ = r"(?:watched|opened|visited|reviewed|examined|read|looked at|gone through|inspected|checked|accessed)"
SOURCE_CLAIM = re.compile(
    rf"\bI(?: will|'ll| am going to| shall)? (?:now )?(?:manually )?{_READ}\b[^.\n]{{0,80}}\b{_SOURCE}\b"
    rf"|\bI(?: have|'ve) (?:now )?(?:manually )?{_HAVE_READ}\b[^.\n]{{0,80}}\b{_SOURCE}\b"
    r"|\bupon (?:visiting|opening|watching|reviewing)\b",
    re.IGNORECASE,
)
# A tool output that printed nothing but labels ("The longest word found is: "), "None" or an empty list.
_EXIT_HEADER = re.compile(r"^\s*exit ?code\s*:[^\n]*(?:\n\s*code output\s*:)?", re.IGNORECASE)
_BLANK_LINE = re.compile(r"^(?:[^\n]*:)?\s*(?:none|null|nan|\[\]|\{\}|\(\)|''|\"\")?$", re.IGNORECASE)
# A result stated as zero or as nothing: "is 0.00%", "indeed 0" (not an exit code or status), "no words were
# found", "none of them meets the criteria".
NULL_RESULT = re.compile(
    r"(?<![\d.,])0(?:\.0+)?\s?%"
    r"|\b(?<!code )(?<!status )(?:is|are|was|were|be|of|indeed)\s+(?:\*\*)?0(?:\.0+)?(?![\d.,]*\d)"
    r"|\b(?:there (?:are|is|were|was) no|none of|no)\b[^.\n]{0,80}?"
    r"\b(?:(?:was|were|is|are|been|be) found|fits?|meets?|match(?:es)?|satisf(?:y|ies)|qualif(?:y|ies))\b",
    re.IGNORECASE,
)
# A brief that hands on an earlier round's results ("## Results from last response"), and words saying those
# results were not read from a real source.
_BRIEF_RESULTS = re.compile(r"^#+ *results\b[^\n]*\bfrom (?:the )?last response", re.IGNORECASE | re.MULTILINE)
INVENTED = re.compile(
    r"\bmock\w*|\bdummy\b|simulat\w*|hypothetical\w*|placeholder|for demonstration|example data|pretend\w*"
    r"|manually \w+",
    re.IGNORECASE,
)
NOTHING_RUN = re.compile(r"no code (?:from the last \d+ messages? )?(?:for me )?to execute", re.IGNORECASE)


class StepLike(Protocol):
    @property
    def who(self) -> str: ...
    @property
    def role(self) -> str | None: ...
    @property
    def name(self) -> str | None: ...
    @property
    def content(self) -> str: ...


@dataclass(frozen=True)
class Pick:
    """The chosen step (an index into the steps), the rule that chose it, and what it showed."""

    index: int
    rule: Rule
    figures: list[str] = field(default_factory=list)  # the new figures, for the `new_figures` rule


def is_tool_name(name: str) -> bool:
    words = [w.lower() for w in _NAME_WORD.findall(name)]
    if not words or words[-1] in AGENT_WORDS:
        return False
    return words[-1] == "computer" or not TOOL_WORDS.isdisjoint(words)


def is_tool(step: StepLike) -> bool:
    return is_tool_name(step.who) or bool(TOOL_OUTPUT.match(step.content))


def is_agent(step: StepLike) -> bool:
    """A step by an agent: not tool or code output, not the human asking."""
    return not is_tool(step) and not HUMAN.match(step.who)


def is_action(step: StepLike, task: str | None) -> bool:
    """A substantive action: an agent's own step, not a routing or delegating message, not the task statement."""
    text = step.content
    if not is_agent(step) or not text.strip() or ROUTING.match(text):
        return False
    if any(arrow in f"{step.role or ''} {step.name or ''}" for arrow in ("->", "→")):
        return False  # a message addressed to another agent delegates: the addressee acts
    head = (task or "").strip()[:80]
    return not (head and head in text)  # the task statement handed to the first agent


def figures(text: str) -> set[str]:
    """Every number in the text (two characters or more, thousands separators dropped)."""
    return {n.replace(",", "").rstrip(".") for n in _NUMBER.findall(text) if len(n.strip(",.")) >= 2}


def stated_figures(text: str) -> set[str]:
    """The numbers an agent states in prose: not in code, not in links."""
    return figures(_ENUMERATION.sub(" ", _LINK.sub(" ", _CODE.sub(" ", text))))


def locate(text: str, figure: str) -> re.Match[str] | None:
    """Where a figure from `figures` is written in the text (with or without thousands separators)."""
    return re.search(r"(?<![\w.])" + ",?".join(re.escape(c) for c in figure), text)


def verdict_step(steps: Sequence[StepLike]) -> int | None:
    """The first step in which a coordinator declares the request satisfied."""
    return next((i for i, s in enumerate(steps) if is_agent(s) and _VERDICT.search(s.content)), None)


def guesses(text: str) -> bool:
    """The prose (not the code) says it works from a guess: "assuming", "simulated", "placeholder"."""
    return bool(GUESS.search(_CODE.sub(" ", text)))


def first_new_figures(steps: Sequence[StepLike], task: str | None) -> Pick | None:
    seen = figures(task or "")
    for i, step in enumerate(steps):
        new = stated_figures(step.content) - seen
        enough = len(new) >= NEW_FIGURES or (bool(new) and guesses(step.content))
        if enough and is_action(step, task):
            ordered = sorted(new, key=lambda n: step.content.replace(",", "").find(n))
            return Pick(i, "new_figures", ordered)
        seen |= figures(step.content)
    return None


def claims_unread_source(steps: Sequence[StepLike], index: int, task: str | None) -> bool:
    """An action with no code that says it reads a source, answered by no tool output (or by a terminal that had
    nothing to run)."""
    step = steps[index]
    if not is_action(step, task) or "```" in step.content or not SOURCE_CLAIM.search(step.content):
        return False
    reply = steps[index + 1] if index + 1 < len(steps) else None
    return reply is None or not is_tool(reply) or bool(NOTHING_RUN.search(reply.content))


def first_unread_source(steps: Sequence[StepLike], task: str | None) -> Pick | None:
    found = next((i for i in range(len(steps)) if claims_unread_source(steps, i, task)), None)
    return None if found is None else Pick(found, "unread_source")


def failed(output: StepLike) -> bool:
    """A tool output that reports an error, or that printed nothing but labels, "None" or an empty list."""
    if ERROR.search(output.content[:500]):
        return True
    lines = _EXIT_HEADER.sub("", output.content).strip().splitlines()
    return all(_BLANK_LINE.match(line.strip()) for line in lines)


def stuck_at(steps: Sequence[StepLike], task: str | None) -> Pick | None:
    """The action whose tool output opened the run's final series of failed outputs (`STUCK_FAILURES` or more)."""
    outputs = [i for i, s in enumerate(steps) if i > 0 and is_tool(s) and not NOTHING_RUN.search(s.content)]
    failures = []
    for i in reversed(outputs):
        if not failed(steps[i]):
            break
        failures.append(i)
    if len(failures) < STUCK_FAILURES:
        return None
    asked = [i for i in range(failures[-1]) if is_action(steps[i], task)]
    return Pick(asked[-1], "stuck") if asked else None


def last_attempt(steps: Sequence[StepLike], task: str | None) -> Pick | None:
    """The action whose tool output ended the run with no action after it, when the agent that wrote the first action
    wrote it too."""
    outputs = [i for i, s in enumerate(steps) if i > 0 and is_tool(s) and not NOTHING_RUN.search(s.content)]
    actions = [i for i, s in enumerate(steps) if is_action(s, task)]
    if not outputs or not actions or actions[-1] > outputs[-1]:
        return None
    last = actions[-1]
    return Pick(last, "last_attempt") if steps[last].who == steps[actions[0]].who else None


def null_result(steps: Sequence[StepLike], task: str | None) -> Pick | None:
    """The run's last action, when it has no code and its prose states a zero or empty result (`NULL_RESULT`)."""
    actions = [i for i, s in enumerate(steps) if is_action(s, task)]
    if not actions or "```" in steps[actions[-1]].content:
        return None
    return Pick(actions[-1], "null_result") if NULL_RESULT.search(_CODE.sub(" ", steps[actions[-1]].content)) else None


def invented_brief(steps: Sequence[StepLike], task: str | None) -> Pick | None:
    """The run's first agent step, when it is a brief (not itself an action: it hands the task in) whose section of
    an earlier round's results says they were mocked, simulated or checked by hand."""
    first = next((i for i, s in enumerate(steps) if is_agent(s)), None)
    if first is None or is_action(steps[first], task):
        return None
    results = _BRIEF_RESULTS.search(steps[first].content)
    invented = results is not None and INVENTED.search(steps[first].content[results.end() :])
    return Pick(first, "invented_brief") if invented else None


def first_action(steps: Sequence[StepLike], task: str | None) -> Pick:
    """The rule used before the other seven (kept as the benchmark's baseline and as the last rule)."""
    actions = [i for i, s in enumerate(steps) if is_action(s, task)]
    if actions:
        return Pick(actions[0], "first_action")
    agents = [i for i, s in enumerate(steps) if is_agent(s)]
    return Pick((agents or [0])[0], "fallback")


def pick_step(steps: Sequence[StepLike], task: str | None) -> Pick:
    verdict = verdict_step(steps)
    if verdict is not None:
        return Pick(verdict, "verdict")
    return (
        first_new_figures(steps, task)
        or first_unread_source(steps, task)
        or stuck_at(steps, task)
        or last_attempt(steps, task)
        or null_result(steps, task)
        or invented_brief(steps, task)
        or first_action(steps, task)
    )
