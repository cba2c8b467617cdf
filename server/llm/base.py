"""The LLM behind a one-method protocol. Every server-side backend implements it (llm/registry.py names them);
tests and evals pass their own (a scripted fake) to `build_service(settings, llm=...)`."""

from collections.abc import Callable
from typing import Protocol, TypeVar, runtime_checkable

from pydantic import BaseModel

T = TypeVar("T", bound=BaseModel)


@runtime_checkable
class LLM(Protocol):
    backend: str
    model: str

    def parse(self, *, system: str, user: str, output: type[T]) -> T:
        """Return an instance of `output` written by the model, or raise DraftError / LLMUnavailable."""
        ...


Provider = Callable[[], LLM | None]  # the LLM when a draft first needs it (None: there is none)
