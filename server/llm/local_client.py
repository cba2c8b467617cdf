"""The client of the embedded llama.cpp server (llm/local.py): its requests end with the draft's time limit, and the
process' exit waits for one still open.

llama.cpp stops generating when a request's connection closes. A request outlived the draft that gave up on it by up
to POSTMORTEM_LLM_TIMEOUT (or, for a repair round, a whole limit), keeping the CPU and the server's one slot busy (the
next draft waited behind it), and a process that exited meanwhile (the CLI, right after saying the draft was too slow)
crashed with a segmentation fault, exit 139, about half the time.
"""

import atexit
import threading
import time
from typing import Any

import openai

from agent_postmortem.errors import LLMFailed
from agent_postmortem.llm.base import T
from agent_postmortem.llm.limits import time_left
from agent_postmortem.llm.openai_compatible import OpenAILLM

EXIT_WAIT_S = 10.0  # how long the process' exit waits for a request to the embedded server to end


class _OpenRequests:
    """The calls to the embedded server not finished yet, which the process' exit waits for (boundedly): exiting while
    llama.cpp generates crashes the process."""

    def __init__(self) -> None:
        self._count = 0
        self._changed = threading.Condition()
        self._hooked = False

    def __enter__(self) -> None:
        with self._changed:
            self._count += 1
            if not self._hooked:
                atexit.register(self.wait_closed, EXIT_WAIT_S)
                self._hooked = True

    def __exit__(self, *exc: object) -> None:
        with self._changed:
            self._count -= 1
            self._changed.notify_all()

    def wait_closed(self, seconds: float) -> bool:
        with self._changed:
            return self._changed.wait_for(lambda: self._count == 0, seconds)


_open = _OpenRequests()


class LocalLLM(OpenAILLM):
    """The embedded server's client: each call's requests end with the call's time limit (the repair round's gets what
    is left of it)."""

    def __init__(self, client: openai.OpenAI, model: str, *, limit: float, **options: Any) -> None:
        super().__init__(client, model, backend="local", **options)
        self.limit = limit
        self._deadline = threading.local()

    def parse(self, *, system: str, user: str, output: type[T]) -> T:
        left = time_left()
        self._deadline.at = time.monotonic() + (self.limit if left is None else min(self.limit, left))
        with _open:
            return super().parse(system=system, user=user, output=output)

    def _client(self) -> openai.OpenAI:
        left = getattr(self._deadline, "at", time.monotonic() + self.limit) - time.monotonic()
        if left <= 0:
            raise LLMFailed(f"the local llama.cpp server had no time left for the request (model {self.model})")
        return self.client.with_options(timeout=left)
