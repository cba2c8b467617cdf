"""The `postmortem` command in a process where the torch extra cannot be imported, as after a plain
`pip install agent-postmortem`: `python -m tests.without_torch capture --title ...`.

An import hook refuses torch, transformers, sentence-transformers, the bundled weights and onnx (ModuleNotFoundError,
what a missing package raises), and records every attempt: at exit the attempts are written to stderr after
`ATTEMPTED`, so a test can tell a path that never reached for torch from one that caught the refusal.
"""

import atexit
import importlib.abc
import importlib.machinery
import sys
from collections.abc import Sequence
from types import ModuleType

from agent_postmortem.store.search.extras import TORCH_EXTRA

BLOCKED = frozenset({*TORCH_EXTRA, "onnx"})
ATTEMPTED = "attempted imports of the torch extra:"


class Refuse(importlib.abc.MetaPathFinder):
    def __init__(self) -> None:
        self.attempts: list[str] = []

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname.partition(".")[0] in BLOCKED:
            self.attempts.append(fullname)
            raise ModuleNotFoundError(f"No module named {fullname!r}", name=fullname)
        return None


def main() -> None:
    refuse = Refuse()
    sys.meta_path.insert(0, refuse)
    atexit.register(lambda: sys.stderr.write(f"{ATTEMPTED} {sorted(set(refuse.attempts))}\n"))
    from agent_postmortem.cli import main as postmortem

    sys.argv = ["postmortem", *sys.argv[1:]]
    postmortem()


if __name__ == "__main__":
    main()
