"""The ONNX Runtime embedder: exported from the bundled model, equal to sentence-transformers in fp32,
close in int8, the same token ids, an atomic idempotent cache, and no torch at run time."""

import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from agent_postmortem.store.search import onnx_export
from agent_postmortem.store.search.embedding import SentenceTransformerEmbedder
from agent_postmortem.store.search.onnx_embedding import INT8_MODEL_ID, OnnxEmbedder
from agent_postmortem.store.search.onnx_export import ensure_exported, export_name
from tests.factories import ROOT

pytestmark = pytest.mark.slow

SENTENCES = [
    "The agent retried the payment API forever after a 429 and exhausted the rate limit.",
    "A chatbot gave a customer a refund policy that did not exist.",
    "Tool call failed: file not found /etc/config.yaml",
    "Self-driving car failed to detect a pedestrian crossing at night.",
    "The summariser hallucinated a citation to a paper that was never written.",
    "Facial recognition misidentified a shopper as a shoplifter.",
]
TRICKY = [
    "",
    "   ",
    "Café naïve résumé Ångström ÉCOLE Straße",
    "İstanbul ǅ ﬁ ligature, don't   stop-words, U.S.A. 3.14",
    "日本語のテキスト 中文 한국어",
    "emoji 🤖🔥 and zero\u200bwidth and nul \x00 and tab\tnew\nline\r\n",
    "[CLS] [SEP] [MASK] [PAD] [UNK] literal special tokens",
    "incident " * 400,  # > 256 tokens: truncated to 256 with [SEP] kept last
    "x" * 3000,  # one very long word: a single [UNK]
]


@dataclass
class Exported:
    directory: Path
    fp32: Path
    int8: Path
    stdout: bytes
    new_cwd_files: set[str]


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Exported:
    """Both variants exported once into a fresh cache directory, with fd 1 captured during the export."""
    directory = tmp_path_factory.mktemp("onnx-cache")
    cwd_before = set(os.listdir())
    with tempfile.TemporaryFile() as capture:
        sys.stdout.flush()
        saved = os.dup(1)
        os.dup2(capture.fileno(), 1)
        try:
            fp32 = ensure_exported(directory, quantize=False)
            int8 = ensure_exported(directory, quantize=True)
        finally:
            sys.stdout.flush()
            os.dup2(saved, 1)
            os.close(saved)
        capture.seek(0)
        stdout = capture.read()
    return Exported(directory, fp32, int8, stdout, set(os.listdir()) - cwd_before)


@pytest.fixture(scope="module")
def fp32(exported: Exported) -> OnnxEmbedder:
    return OnnxEmbedder(exported.fp32, quantized=False)


@pytest.fixture(scope="module")
def int8(exported: Exported) -> OnnxEmbedder:
    return OnnxEmbedder(exported.int8, quantized=True)


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    result: np.ndarray = (a * b).sum(axis=1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
    return result


def test_export_writes_only_the_models_and_nothing_to_stdout(exported: Exported) -> None:
    assert exported.stdout == b""
    assert exported.new_cwd_files == set()  # no temporary files left in the working directory
    files = {p.name for p in exported.directory.iterdir() if not p.name.endswith(".lock")}
    assert files == {export_name(quantize=False), export_name(quantize=True)}
    assert exported.int8.stat().st_size < exported.fp32.stat().st_size / 3


@pytest.mark.parametrize("variant", ["fp32", "int8"])
def test_vectors_are_unit_length_float32(variant: str, request: pytest.FixtureRequest) -> None:
    embedder: OnnxEmbedder = request.getfixturevalue(variant)
    vectors = embedder.embed([*SENTENCES, *TRICKY], kind="document")
    assert vectors.dtype == np.float32
    assert vectors.shape == (len(SENTENCES) + len(TRICKY), 384)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert embedder.embed([], kind="query").shape == (0, 384)


def test_fp32_matches_sentence_transformers(fp32: OnnxEmbedder, minilm: SentenceTransformerEmbedder) -> None:
    texts = [*SENTENCES, *TRICKY]
    for kind in ("query", "document"):
        ours = fp32.embed(texts, kind=kind)
        reference = minilm.embed(texts, kind=kind)
        assert cosines(ours, reference).min() > 1 - 1e-4
    # interchangeable vectors, so one model id and one index
    assert fp32.model_id == minilm.model_id


def test_int8_is_close_to_fp32_with_its_own_model_id(fp32: OnnxEmbedder, int8: OnnxEmbedder) -> None:
    similarity = cosines(int8.embed(SENTENCES, kind="document"), fp32.embed(SENTENCES, kind="document"))
    # per-channel weights: 0.995 on average over the 1,367 AIID incidents; per-tensor gave 0.964
    assert similarity.mean() > 0.98
    assert similarity.min() > 0.95
    assert int8.model_id == INT8_MODEL_ID != fp32.model_id


def test_tokenization_matches_sentence_transformers(fp32: OnnxEmbedder, minilm: SentenceTransformerEmbedder) -> None:
    model: Any = minilm._model
    batches = [TRICKY, SENTENCES + TRICKY[:3], *([text] for text in TRICKY)]
    for batch in batches:
        ours = fp32.tokenize(batch)
        theirs = model.preprocess(batch)
        for name in ("input_ids", "attention_mask", "token_type_ids"):
            assert ours[name].tolist() == theirs[name].tolist(), (name, batch)
    long = fp32.tokenize([TRICKY[7]])["input_ids"][0]
    assert len(long) == 256 and long[0] == 101 and long[-1] == 102


def test_batching_and_order_do_not_change_vectors(fp32: OnnxEmbedder) -> None:
    texts = [*SENTENCES, *TRICKY]
    together = fp32.embed(texts, kind="document")
    one_by_one = np.vstack([fp32.embed([text], kind="document") for text in texts])
    small = OnnxEmbedder(fp32.onnx_path, batch_size=2).embed(texts, kind="document")
    assert cosines(together, one_by_one).min() > 1 - 1e-6
    assert cosines(together, small).min() > 1 - 1e-6


def test_concurrent_first_use_is_safe(exported: Exported) -> None:
    embedder = OnnxEmbedder(exported.int8, quantized=True)
    expected = OnnxEmbedder(exported.int8, quantized=True).embed(SENTENCES, kind="query")
    results: list[np.ndarray] = []
    threads = [
        threading.Thread(target=lambda: results.append(embedder.embed(SENTENCES, kind="query"))) for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 4
    for result in results:
        np.testing.assert_allclose(result, expected, atol=1e-6)


def test_a_variant_mismatch_is_refused(exported: Exported) -> None:
    with pytest.raises(ValueError, match="fp32"):
        OnnxEmbedder(exported.fp32, quantized=True).load()


def test_ensure_exported_is_idempotent(exported: Exported, monkeypatch: pytest.MonkeyPatch) -> None:
    before = {path: path.stat().st_mtime_ns for path in (exported.fp32, exported.int8)}

    def no_export(*args: object, **kwargs: object) -> Path:
        raise AssertionError("exported again")

    monkeypatch.setattr(onnx_export, "export", no_export)
    assert ensure_exported(exported.directory, quantize=False) == exported.fp32
    assert ensure_exported(exported.directory, quantize=True) == exported.int8
    assert {path: path.stat().st_mtime_ns for path in before} == before
    # the bundled constructor finds the cached fp32 file too
    bundled = OnnxEmbedder.bundled(exported.directory, quantized=False)
    assert bundled.embed(["x"], kind="query").shape == (1, 384)


@pytest.fixture
def fake_export(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Path]]:
    """A slow stand-in for the torch export that records where it was asked to write."""
    calls: list[Path] = []

    def slow_export(model_dir: Path, out: Path, *, quantize: bool) -> Path:
        calls.append(out)
        time.sleep(0.2)
        out.write_bytes(b"onnx")
        return out

    monkeypatch.setattr(onnx_export, "export", slow_export)
    yield calls


def test_concurrent_ensure_exported_exports_once(tmp_path: Path, fake_export: list[Path]) -> None:
    paths: list[Path] = []
    threads = [
        threading.Thread(target=lambda: paths.append(ensure_exported(tmp_path, quantize=True, model_dir=tmp_path)))
        for _ in range(3)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(fake_export) == 1
    assert paths == [tmp_path / export_name(quantize=True)] * 3
    assert fake_export[0].parent == tmp_path and fake_export[0] != paths[0]  # written under a temporary name
    assert {p.name for p in tmp_path.iterdir() if not p.name.endswith(".lock")} == {paths[0].name}


def test_a_failed_export_leaves_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(model_dir: Path, out: Path, *, quantize: bool) -> Path:
        out.write_bytes(b"half")
        raise RuntimeError("boom")

    monkeypatch.setattr(onnx_export, "export", broken)
    with pytest.raises(RuntimeError, match="boom"):
        ensure_exported(tmp_path, quantize=False, model_dir=tmp_path)
    assert [p.name for p in tmp_path.iterdir() if not p.name.endswith(".lock")] == []


@pytest.mark.parametrize("variant", ["fp32", "int8"])
def test_embedding_imports_no_torch_and_prints_nothing(exported: Exported, variant: str) -> None:
    path = exported.int8 if variant == "int8" else exported.fp32
    code = (
        "import sys; from agent_postmortem.store.search.onnx_embedding import OnnxEmbedder; "
        f"e = OnnxEmbedder({str(path)!r}, quantized={variant == 'int8'}); "
        "v = e.embed(['x'], kind='query'); "
        "heavy = ('torch', 'transformers', 'sentence_transformers'); "
        "sys.stdout.write(repr(sorted(m for m in heavy if m in sys.modules)))"
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, timeout=60)
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout == b"[]"  # no torch, and nothing else written to stdout by load or embed
    assert result.stderr == b""
