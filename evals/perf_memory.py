"""`postmortem bench perf`, peak memory: fresh processes (`PEAK_SCRIPT`) that load the model, open a knowledge
base, search, and read their own VmHWM/VmRSS from /proc."""

import json
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from agent_postmortem.config import Settings
from agent_postmortem.evals.perf_start import model_env
from agent_postmortem.evals.perf_timing import HNSW_UP_TO, MB, Progress

PEAK_SCRIPT = """
import json, os, sys, time
from pathlib import Path
from agent_postmortem.config import Settings
from agent_postmortem.service.runtime import build_service, make_embedder

def status():  # VmHWM, not ru_maxrss: Linux carries the parent's ru_maxrss across fork and exec
    fields = dict(x.split(":", 1) for x in Path("/proc/self/status").read_text().splitlines() if ":" in x)
    return {k: int(fields[k].split()[0]) for k in ("VmHWM", "VmRSS", "RssAnon", "RssFile")}

mode, home, query = sys.argv[1:4]
settings = Settings.from_env({**os.environ, "POSTMORTEM_HOME": home})
started = time.perf_counter()
embedder = make_embedder(settings)
embedder.load()
embedder.embed([query], kind="query")
model, loaded = status(), time.perf_counter()
figures = {"model_kb": model["VmHWM"], "load_model_s": loaded - started}
if mode != "model":
    service = build_service(settings, embedder=embedder, claim_index=mode == "owner")
    opened = time.perf_counter()
    spent = {}
    for owner, name in ((service.knowledge.lexical, "refresh"), (service.knowledge.exact, "refresh")):
        def timed(*args, _inner=getattr(owner, name), _name=type(owner).__name__, **kwargs):
            t = time.perf_counter()
            try:
                return _inner(*args, **kwargs)
            finally:
                spent[_name] = spent.get(_name, 0.0) + time.perf_counter() - t
        setattr(owner, name, timed)
    hits = service.search_incidents(query=query, limit=5).hits
    figures |= {"first": status(), "open_s": opened - loaded, "first_search_s": time.perf_counter() - opened}
    figures |= {"hits": [[h.id, h.relevance] for h in hits], "loads": spent}
    for text in sys.argv[4:]:
        service.search_incidents(query=text, limit=5)
    figures["after"] = status()
print(json.dumps(figures))
"""


def peak_rss(
    settings: Settings,
    embedder: str,
    mode: str,
    home: Path,
    query: str,
    more: Sequence[str] = (),
    *,
    env: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """A fresh process: load the model and embed one query (peak = the model alone); in mode "owner" (takes the
    vector index, as a server does) or "reader" (does not), then open the knowledge base in `home`, search once (the
    first search of a new process, timed from the moment the service is built and the model loaded), then search
    `more` and read its memory again. `env`: the process's environment (default: this one's), e.g. a team-mode
    database and Chroma server."""
    env = {**(os.environ if env is None else env), **model_env(settings), "POSTMORTEM_EMBEDDER": embedder}
    done = subprocess.run(
        [sys.executable, "-c", PEAK_SCRIPT, mode, str(home), query[:2000], *(m[:2000] for m in more)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=3600,
    )
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    out = {"model_only_peak_rss_mb": round(figures["model_kb"] / MB), "load_model_s": round(figures["load_model_s"], 2)}
    if mode != "model":
        first, after = figures["first"], figures["after"]
        out |= {
            "peak_rss_mb": round(after["VmHWM"] / MB),
            "rss_mb_after_searches": round(after["VmRSS"] / MB),
            "rss_anon_mb": round(after["RssAnon"] / MB),
            "rss_file_mb": round(after["RssFile"] / MB),
            "peak_rss_mb_at_first_search": round(first["VmHWM"] / MB),
            "open_service_ms": round(figures["open_s"] * 1000, 1),
            "first_search_ms": round(figures["first_search_s"] * 1000, 1),
            "first_search_load_ms": {k: round(v * 1000, 1) for k, v in figures["loads"].items()},
            "first_search_hits": figures["hits"],
            "searches_after": len(more),
        }
    return out


def peak_memory(
    settings: Settings, homes: dict[int, Path], sizes: list[int], queries: Sequence[str], progress: Progress
) -> dict[str, Any]:
    """Fresh processes, so that nothing else this benchmark holds counts: the model alone after one query (the
    reference), then the service with the model after a first search and 50 more, at every size: as a process that
    does not own the vector index, and (up to HNSW_UP_TO) as its owner, which also opens chromadb."""
    services = []
    runs = [(n, mode) for n in sizes for mode in ("reader", "owner") if mode == "reader" or n <= HNSW_UP_TO]
    for i, (n, mode) in enumerate(runs):
        progress("memory", i, len(runs))
        figures = peak_rss(settings, settings.embedder, mode, homes[n], queries[0], queries[1:51])
        services.append({"incidents": n, "process": mode, **figures})
    progress("memory", len(runs), len(runs))
    return {
        "reference_model_only_peak_rss_mb": services[0]["model_only_peak_rss_mb"],
        "service_after_first_search": [{k: v for k, v in s.items() if k != "model_only_peak_rss_mb"} for s in services],
    }


def _same_as_warm(search: list[dict[str, Any]], memory: dict[str, Any]) -> bool:
    """The first search of every fresh process found what the warm benchmark process found for the same query."""
    warm = {s["incidents"]: s["warm_first_query_hits"] for s in search}
    fresh = memory["service_after_first_search"]
    return all(f["first_search_hits"] == warm.get(f["incidents"], f["first_search_hits"]) for f in fresh)
