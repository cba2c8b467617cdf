"""`bench perf` on a small knowledge base: the figures are all there and make sense. No timing thresholds: the
numbers themselves come from the full benchmark on a quiet machine."""

import json
from pathlib import Path
from typing import Any

import pytest

from agent_postmortem.config import EMBEDDERS
from agent_postmortem.evals.perf import AIID, run

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]  # the whole benchmark, small: minutes on a busy machine


@pytest.fixture(scope="module")
def result(tmp_path_factory: pytest.TempPathFactory, model_cache: Path) -> dict[str, Any]:
    if not (AIID / "incidents.jsonl").is_file():
        pytest.skip(f"the AIID data is not at {AIID}")
    stages: list[str] = []
    figures = run(
        sizes=(300,),
        queries=20,
        home=tmp_path_factory.mktemp("perf"),
        import_rows=100,
        cold_starts=1,
        model_cache=model_cache,
        embedder="onnx-int8",
        progress=lambda stage, done, total: stages.append(stage),
    )
    assert {"import", "embedders", "search 300", "cold start", "memory"} <= set(stages)
    assert figures["embedder"] == "onnx-int8" and figures["embedding_model"].endswith("#onnx-int8")
    return figures


def test_the_result_is_json(result: dict[str, Any]) -> None:
    assert json.loads(json.dumps(result)) == result
    assert result["queries"] == 20
    assert result["notes"] and all(isinstance(n, str) for n in result["notes"])


def test_search_figures(result: dict[str, Any]) -> None:
    (size,) = result["search"]
    assert size["incidents"] == size["indexed"] == 300
    assert size["load"]["real_rows"] == 300 and size["load"]["synthetic_rows"] == 0
    for method in ("exact_numpy", "index_n10", "index_n100"):
        figures = size[method]
        assert 0 < figures["p50_ms"] <= figures["p95_ms"]
        assert 0.0 <= figures["recall_at_10"] <= 1.0
    assert size["exact_numpy"]["recall_at_10"] == 1.0
    assert 0 < size["end_to_end"]["p50_ms"] <= size["end_to_end"]["p95_ms"]
    breakdown = size["end_to_end_breakdown"]
    assert breakdown["query_embedding"]["mean_ms"] > 0 and breakdown["total"]["mean_ms"] > 0
    assert breakdown["bm25_top_k_alongside"]["mean_ms"] > 0  # on another thread, while the query is embedded
    parts = sum(v["mean_ms"] for k, v in breakdown.items() if k != "total" and not k.endswith("_alongside"))
    assert parts == pytest.approx(breakdown["total"]["mean_ms"], rel=0.01, abs=0.01)


def test_import_figures(result: dict[str, Any]) -> None:
    imported = result["import"]
    assert imported["imported"] == imported["rows"] == 100
    assert imported["import_per_s"] > 0 and imported["raw_sentence_transformers_encode_per_s"] > 0
    assert imported["ratio"] > 0 and imported["ratio_vs_embedder_direct"] > 0
    assert imported["stored_vs_direct_vector_cosine"] > 0.99  # the store keeps the vector the embedder made
    assert imported["import_breakdown_s"]["embedding"] > 0
    assert imported["import_in_one_chunk_per_s"] > 0


def test_embedders_side_by_side(result: dict[str, Any]) -> None:
    embedders = result["embedders"]
    assert set(embedders) == set(EMBEDDERS)
    assert embedders["torch"]["mean_cosine_to_torch"] == pytest.approx(1.0, abs=1e-5)
    assert embedders["onnx"]["mean_cosine_to_torch"] > 0.999  # the same model, exported
    for figures in embedders.values():
        assert figures["query"]["p50_ms"] > 0 and figures["documents_per_s"] > 0
        assert figures["model_only_peak_rss_mb"] > 0 and figures["fresh_process_load_s"] > 0


def test_cold_start_and_memory(result: dict[str, Any]) -> None:
    cold = result["cold_start"]
    assert 0 < cold["initialize_ms"] < cold["first_search_ms"]
    assert cold["reference_python_pass_ms"] > 0
    assert 0 < cold["reference_bare_mcpserver_initialize_ms"] < cold["reference_bare_mcpserver_tools_listed_ms"]
    assert cold["initialize_vs_bare_mcpserver"] > 0 and cold["initialize_ms"] < cold["tools_listed_ms"]
    reads = cold["cli_reads"]
    assert reads["incidents"] == 300 and all(reads[f"{c}_ms"] > 0 for c in ("help", "list", "show"))
    memory = result["memory"]
    assert memory["reference_model_only_peak_rss_mb"] > 0
    assert memory["server_after_first_search_peak_rss_mb"] > 0
    reader, owner = memory["service_after_first_search"]
    assert (reader["process"], owner["process"]) == ("reader", "owner")
    for service in (reader, owner):
        assert service["incidents"] == 300 and len(service["first_search_hits"]) == 5
        assert set(service["first_search_load_ms"]) == {"LexicalIndex", "ExactIndex"}
        assert service["peak_rss_mb"] >= memory["reference_model_only_peak_rss_mb"]
        assert service["rss_anon_mb"] > 0 and service["searches_after"] == 19
    assert memory["first_search_same_as_warm"] is True  # a new process answers as the warm benchmark process did
    assert memory["reference_sqlite_commit_fsync"]["p50_ms"] > 0


def test_growth_dense_recall_and_capture_are_reported(result: dict[str, Any]) -> None:
    (size,) = result["search"]
    assert size["dense"]["dense_path"].startswith("exact")
    assert size["dense"]["recall_at_10_vs_exact_float32"] == 1.0
    assert size["references"]["bm25s_scores"]["p50_ms"] > 0
    stages = size["capture"]["stages"]
    assert stages["embedding"]["p50_ms"] > 0 and stages["write_with_fsync"]["p50_ms"] > 0
    assert stages["total"]["p50_ms"] >= stages["embedding"]["p50_ms"]
    assert size["load"]["bm25_build_s"] >= 0 and size["load"]["int8_vectors_build_s"] >= 0
    assert result["growth_log_log_slope"]["sizes"] == [300]  # one size: no slope to fit
    assert all(v is None for v in result["growth_log_log_slope"]["slopes"].values())


def test_targets_are_reported(result: dict[str, Any]) -> None:
    targets = result["targets"]
    assert {"search_p50_ms_at_100k", "first_search_ms_of_a_new_process_at_100k", "search_p50_ms_at_1m"} <= set(targets)
    assert all(t["met"] is None or isinstance(t["met"], bool) for t in targets.values())
    assert targets["search_p50_ms_at_1m"]["measured"] is None  # that size was not run
