"""Every prompt the server's own model is sent is redacted first, whatever built it.

Stored text is redacted at capture, but some prompts are built from text that was never stored: the sentence given
to `check_blameless` (its rewrites are asked of the model), the steps of a multi-agent run attributed before it is
captured (`import-steps --attribute llm`, `bench attribution`). Redacting at this one boundary covers those and any
later prompt; on text already redacted it changes nothing (placeholders match no rule).
"""

from typing import TypeVar

from pydantic import BaseModel

from agent_postmortem.llm.base import LLM
from agent_postmortem.store.redact import redact

T = TypeVar("T", bound=BaseModel)


class RedactingLLM:
    """`inner` with the user part of each prompt redacted (the system part is the project's own instructions)."""

    def __init__(self, inner: LLM) -> None:
        self.inner = inner
        self.backend = inner.backend
        self.model = inner.model

    def parse(self, *, system: str, user: str, output: type[T]) -> T:
        return self.inner.parse(system=system, user=redact(user), output=output)
