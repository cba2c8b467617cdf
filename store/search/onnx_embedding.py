"""all-MiniLM-L6-v2 run by ONNX Runtime: no torch, no transformers at run time.

The default (`POSTMORTEM_EMBEDDER=onnx-int8`) is the int8 graph shipped in the package, in `model/` next to this
module with the model's `tokenizer.json`, its settings (`model.json`) and its licence; `ship.py` makes those files
from the bundled weights, reproducibly. The fp32 graph (`onnx`) is not shipped: it is exported into the model
cache at first use (onnx_export.py), which needs the `torch` extra.

`OnnxEmbedder` needs only `tokenizers`, `onnxruntime` and numpy. It reproduces what sentence-transformers does
for this model: the model's own `tokenizer.json` (BERT normaliser with lowercasing and accent stripping,
[CLS] ... [SEP]) truncated to `max_seq_length` (256) and padded to the longest text of a batch, then mean
pooling over the attention mask and L2 normalisation.

Model ids: the fp32 graph gives the same vectors as `SentenceTransformerEmbedder` (cosine ≥ 1 - 1e-6
on the AIID corpus), so it shares its model id and its index. The int8 graph does not, so it has its
own id and therefore its own collection: its vectors never mix with the fp32 ones.
"""

import json
import logging
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from agent_postmortem.store.search.embedding import Kind
from agent_postmortem.store.search.extras import require_torch_extra

MODEL_ID = "sentence-transformers/all-MiniLM-L6-v2"
INT8_MODEL_ID = MODEL_ID + "#onnx-int8"
INPUT_NAMES = ("input_ids", "attention_mask", "token_type_ids")
OUTPUT_NAME = "last_hidden_state"
DEFAULT_MAX_SEQ_LENGTH = 256
METADATA_VARIANT = "postmortem.variant"
SHIPPED_DIR = Path(__file__).with_name("model")  # package data: the int8 graph, tokenizer.json, model.json, LICENSE
SHIPPED_ONNX = "all-MiniLM-L6-v2.int8.onnx"
MANIFEST = "model.json"

logger = logging.getLogger(__name__)


def default_threads() -> int:
    return max(1, min(4, os.cpu_count() or 1))


class OnnxEmbedder:
    """all-MiniLM-L6-v2 through ONNX Runtime; loaded lazily, thread-safe, writes nothing to stdout."""

    dimension = 384

    def __init__(
        self,
        onnx_path: Path | str,
        tokenizer_dir: Path | str | None = None,
        *,
        quantized: bool = False,
        batch_size: int | None = None,
        threads: int | None = None,
    ) -> None:
        self.onnx_path = Path(onnx_path)
        self.tokenizer_dir = Path(tokenizer_dir) if tokenizer_dir is not None else None
        self.quantized = quantized
        self.model_id = INT8_MODEL_ID if quantized else MODEL_ID
        # int8 activations are quantised with one scale per run, so a text run beside others got a vector that
        # depended on them (cosine 0.993-0.996 to itself alone): an import or a restore stored other vectors than a
        # capture of the same text, and a restored export formed other patterns. One text per run is also faster
        # here (200 AIID texts, 2 cores: 3-4 s against 15-18 s in batches of 64, which pad to the longest text).
        self.batch_size = batch_size or (1 if quantized else 64)
        self.threads = threads or default_threads()
        self.max_seq_length = DEFAULT_MAX_SEQ_LENGTH
        self._cache_dir: Path | None = None
        self._session: Any = None
        self._tokenizer: Any = None
        self._lock = threading.Lock()

    @classmethod
    def shipped(cls, **kwargs: Any) -> "OnnxEmbedder":
        """The int8 graph shipped in the package: nothing to export, no torch."""
        return cls(SHIPPED_DIR / SHIPPED_ONNX, SHIPPED_DIR, quantized=True, **kwargs)

    @classmethod
    def bundled(cls, cache_dir: Path, *, quantized: bool, **kwargs: Any) -> "OnnxEmbedder":
        """The bundled model: int8 is the shipped file; fp32 is exported into `cache_dir` by `load()` if it is not
        there yet (then torch, from the `torch` extra, is used once)."""
        if quantized:
            return cls.shipped(**kwargs)
        from agent_postmortem.store.search.onnx_export import export_name

        embedder = cls(cache_dir / export_name(quantize=False), quantized=False, **kwargs)
        embedder._cache_dir = cache_dir
        return embedder

    @property
    def loaded(self) -> bool:
        return self._session is not None

    def load(self) -> None:
        """Load the tokenizer and the ONNX session now (idempotent, thread-safe)."""
        with self._lock:
            if self._session is not None:
                return
            if self._cache_dir is not None and not self.onnx_path.is_file():
                require_torch_extra("the fp32 ONNX embedder (POSTMORTEM_EMBEDDER=onnx), exported at first use,")
                from agent_postmortem.store.search.onnx_export import ensure_exported

                self.onnx_path = ensure_exported(self._cache_dir, quantize=self.quantized)
            if not self.onnx_path.is_file():
                raise FileNotFoundError(f"the embedding model {self.onnx_path} is missing; reinstall agent-postmortem")
            self._tokenizer = self._load_tokenizer(self.tokenizer_dir or SHIPPED_DIR)
            session = self._load_session()
            self._session = session
            logger.info("onnx embedding model loaded from %s (%d threads)", self.onnx_path, self.threads)

    def _load_tokenizer(self, tokenizer_dir: Path) -> Any:
        from tokenizers import Tokenizer

        self.max_seq_length = max_seq_length(tokenizer_dir)
        tokenizer = Tokenizer.from_file(str(tokenizer_dir / "tokenizer.json"))
        # tokenizer.json ships with truncation at 128 and fixed padding to 128; sentence-transformers
        # truncates at max_seq_length and pads to the longest text of the batch (done in `_pad`).
        tokenizer.no_padding()
        tokenizer.enable_truncation(max_length=self.max_seq_length)
        return tokenizer

    def _load_session(self) -> Any:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3  # errors only, and those go to stderr
        # Idle ONNX Runtime threads spin-wait by default; on 2 cores that halved the speed of the numpy search
        # that follows each query embedding (matmul over 100k vectors: 9.9 -> 17.4 ms).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        session = ort.InferenceSession(str(self.onnx_path), sess_options=options, providers=["CPUExecutionProvider"])
        variant = session.get_modelmeta().custom_metadata_map.get(METADATA_VARIANT)
        expected = "int8" if self.quantized else "fp32"
        if variant is not None and variant != expected:
            raise ValueError(f"{self.onnx_path} holds the {variant} model, but quantized={self.quantized}")
        return session

    def tokenize(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        """Model inputs for one batch, as sentence-transformers builds them (int64, padded to the longest)."""
        self.load()
        return _pad(self._tokenizer.encode_batch(list(texts)))

    def embed(self, texts: list[str], *, kind: Kind) -> np.ndarray:
        """Unit-length float32 vectors, one row per text; `kind` makes no difference for this model."""
        return self.pooled(texts, normalise=True)

    def pooled(self, texts: list[str], *, normalise: bool) -> np.ndarray:
        """The mean of each text's last hidden states over its tokens, L2-normalised or not (the blame reader's
        output layer reads the raw mean: server/analysis/blame_reader.py)."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        self.load()
        encodings = self._tokenizer.encode_batch(texts)
        # Longest first, like sentence-transformers, so each batch carries little padding.
        order = np.argsort([-len(e.ids) for e in encodings], kind="stable")
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        for start in range(0, len(texts), self.batch_size):
            rows = order[start : start + self.batch_size]
            feeds = _pad([encodings[i] for i in rows])
            (hidden,) = self._session.run([OUTPUT_NAME], feeds)
            out[rows] = _mean_pool(hidden, feeds["attention_mask"], normalise=normalise)
        return out


def max_seq_length(model_dir: Path) -> int:
    """The truncation length from the shipped `model.json`, or from a sentence-transformers folder's config. The
    shipped file also states the pooling this module implements (mean, then L2 normalisation); anything else is
    refused rather than embedded wrongly."""
    manifest = model_dir / MANIFEST
    if manifest.is_file():
        config = json.loads(manifest.read_text(encoding="utf-8"))
        if (config.get("pooling"), config.get("normalize")) != ("mean", True):
            raise ValueError(f"{manifest}: only mean pooling with L2 normalisation is implemented")
        return int(config["max_seq_length"])
    config_file = model_dir / "sentence_bert_config.json"
    if config_file.is_file():
        return int(json.loads(config_file.read_text(encoding="utf-8")).get("max_seq_length") or DEFAULT_MAX_SEQ_LENGTH)
    return DEFAULT_MAX_SEQ_LENGTH


def _pad(encodings: Sequence[Any]) -> dict[str, np.ndarray]:
    width = max((len(e.ids) for e in encodings), default=0)
    arrays = {name: np.zeros((len(encodings), width), dtype=np.int64) for name in INPUT_NAMES}
    for row, encoding in enumerate(encodings):
        n = len(encoding.ids)
        arrays["input_ids"][row, :n] = encoding.ids
        arrays["attention_mask"][row, :n] = encoding.attention_mask
        arrays["token_type_ids"][row, :n] = encoding.type_ids
    return arrays


def _mean_pool(hidden: np.ndarray, mask: np.ndarray, *, normalise: bool) -> np.ndarray:
    weights = mask.astype(np.float32)[:, :, None]
    summed = (hidden * weights).sum(axis=1)
    pooled: np.ndarray = (summed / np.maximum(weights.sum(axis=1), 1e-9)).astype(np.float32)
    if not normalise:
        return pooled
    norms = np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
    normalised: np.ndarray = (pooled / norms).astype(np.float32)
    return normalised
