"""`postmortem demo`: the whole loop on embedded defaults, from a seed knowledge base to a written report."""

import os
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.progress import Progress

import store
from server.config import Settings
from server.errors import DraftError, LLMUnavailable
from server.jsonl import read_incidents
from server.runtime import build_service, choose_llm
from server.view import show_analysis, show_capture
from store.models import IncidentCreate

SEED = Path(store.__file__).resolve().parent / "seed" / "incidents.jsonl"  # package data: works installed too

DEMO_INCIDENT = IncidentCreate(
    title="Travel agent kept retrying flight search until the fares API throttled every user",
    description=(
        "During the Monday morning peak the trip-planner agent answered 'no flights found' to 212 users. "
        "Logs show each conversation calling fares.search_flights 6-9 times in under a minute after the first "
        "call returned a transient 503; every retry went out immediately, without backoff, from 40 parallel "
        "workers sharing one API key. The fares provider then answered 429 for 14 minutes."
    ),
    error_type="RateLimitError",
    error_message="429 Too Many Requests: quota of 300 requests/minute exceeded for key trip-planner-prod",
    agent="trip-planner",
    tool="fares.search_flights",
    model="gpt-4.1-mini",
    environment="production",
    user_facing=True,
    impact="212 users told no flights existed for 14 minutes; 31 abandoned bookings",
    determinism="probabilistic",
)


def run_demo(out: Console, *, home: Path | None = None, output: Path | None = None) -> Path:
    home = home or Path(tempfile.mkdtemp(prefix="postmortem-demo-"))
    env = {**os.environ, "POSTMORTEM_HOME": str(home)}
    settings = Settings.from_env(env)
    out.rule("agent-postmortem demo")
    out.print(f"Data directory: {home} (SQLite + embedded chromadb, bundled all-MiniLM-L6-v2 embeddings)")

    started = time.monotonic()
    service = build_service(settings)
    rows = read_incidents(SEED)
    with Progress(console=out, transient=True) as progress:
        task = progress.add_task(
            "loading the seed knowledge base (first run loads the embedding model)", total=len(rows)
        )
        result = service.import_incidents(rows, progress=lambda n: progress.advance(task, n))
    out.print(
        f"1. Seed knowledge base: {result.imported} past incidents loaded "
        f"({result.skipped_duplicates} already there) in {time.monotonic() - started:.1f}s"
    )

    out.print(f"\n2. Capturing a new failure: [bold]{DEMO_INCIDENT.title}[/bold]")
    captured = service.capture_incident(DEMO_INCIDENT)
    show_capture(out, captured)

    out.print("\n3. Drafting the analysis")
    try:
        choice = choose_llm(settings)
    except LLMUnavailable as e:
        out.print(f"[yellow]{e}[/yellow]")
        choice = None
    if choice is None:
        out.print("[yellow]No LLM is available, so no draft was written.[/yellow] " + _how_to_choose())
    else:
        out.print(f"   LLM: [bold]{choice.describe}[/bold] (backend: {choice.backend})")
        if choice.low_quality:
            out.print(
                "[yellow]   This is the tiny bundled 135M-parameter model: it proves the pipeline works offline, "
                "but its analysis is LOW QUALITY and not to be trusted.[/yellow] " + _how_to_choose()
            )
        try:
            analysis = service.draft_analysis(captured.id)
            tracked = service.add_drafted_action_items(captured.id)
            show_analysis(out, analysis)
            out.print(f"   {len(tracked)} proposed action items are now tracked.")
        except (LLMUnavailable, DraftError) as e:
            out.print(f"[yellow]Drafting failed: {e}[/yellow]")

    path = output or home / "reports" / f"{captured.id}.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(service.render_report(captured.id), encoding="utf-8")
    out.print(f"\n4. Post-mortem report written to: [bold]{path}[/bold]")
    return path


def _how_to_choose() -> str:
    return (
        "For real drafts, point it at a capable model: set OPENAI_BASE_URL, OPENAI_API_KEY and POSTMORTEM_MODEL "
        "(OpenAI, Ollama, vLLM, LM Studio...), or POSTMORTEM_LOCAL_MODEL=/path/to/model.gguf."
    )
