"""The blame reader: a fine-tuned all-MiniLM-L6-v2 that reads a whole sentence and says how likely it makes a person,
a team or a role the cause of a failure.

Word lists and shapes (server/analysis/blame.py) find the sentences they were written from; on sentences written
elsewhere they miss about half (docs/blameless.md). The reader is the bundled embedding model fine-tuned end to end on
the labelled sentences of `evals/data` (evals/train_blame_reader.py), shipped as an int8 ONNX graph with one linear
output over the mean of its last hidden states: it runs on ONNX Runtime with the embedder's tokenizer, no torch.

`check_blameless` combines it with the rules (server/analysis/blameless.py): a sentence is blaming when the reader's
probability reaches `threshold`, or when a rule found a span in it and the probability reaches `veto` (the reader
overrules a rule only when it is sure). Both were chosen on out-of-set predictions (the file records them).
"""

import json
import logging
import threading
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from agent_postmortem.store.search.onnx_embedding import SHIPPED_DIR, OnnxEmbedder

logger = logging.getLogger(__name__)

READER_DIR = Path(__file__).with_name("blame_reader")  # package data
ONNX_FILE = "blame-reader.int8.onnx"
HEAD_FILE = "blame-reader.json"
DIMENSION = 384


@dataclass
class BlameReader:
    weights: np.ndarray
    bias: float
    threshold: float
    veto: float
    info: dict[str, Any]
    encoder: OnnxEmbedder
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def load(cls, folder: Path = READER_DIR, *, threads: int = 1) -> "BlameReader":
        """The reader in `folder` (the graph is opened at the first sentence, not here)."""
        head = json.loads((folder / HEAD_FILE).read_text(encoding="utf-8"))
        weights = np.asarray(head["weights"], dtype=np.float32)
        threshold, veto = float(head["threshold"]), float(head["veto"])
        if weights.shape != (DIMENSION,) or not 0 <= veto <= threshold <= 1:
            raise ValueError(f"{folder / HEAD_FILE}: not a blame reader's output layer; reinstall agent-postmortem")
        # One sentence per run: int8 activations are quantised with one scale per run, so a sentence read in a batch
        # gets a probability that depends on its neighbours (0.94 alone, 0.98 beside 14 others, across the threshold).
        encoder = OnnxEmbedder(folder / ONNX_FILE, SHIPPED_DIR, quantized=True, batch_size=1, threads=threads)
        return cls(weights, float(head["bias"]), threshold, veto, head, encoder)

    def probabilities(self, sentences: list[str]) -> np.ndarray:
        """The probability that each sentence blames a person (float64, one per sentence)."""
        if not sentences:
            return np.zeros(0)
        with self._lock:  # one graph per process: concurrent drafts take turns
            pooled = self.encoder.pooled(sentences, normalise=False)
        logits = pooled.astype(np.float64) @ self.weights.astype(np.float64) + self.bias
        result: np.ndarray = 1.0 / (1.0 + np.exp(-logits))
        return result

    def decide(self, probability: float, *, rule_found: bool) -> bool:
        return probability >= (self.veto if rule_found else self.threshold)


@cache
def shipped() -> BlameReader:
    """The reader shipped in the package, loaded once per process."""
    return BlameReader.load()
