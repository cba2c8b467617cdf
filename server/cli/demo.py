"""`postmortem demo`: the whole loop on embedded defaults, from a seed knowledge base to a written report."""

import os
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import Progress

from agent_postmortem import store
from agent_postmortem.cli.common import stage_status
from agent_postmortem.cli.output import cell, line
from agent_postmortem.cli.view import show_analysis, show_decision
from agent_postmortem.config import Settings
from agent_postmortem.errors import DraftError, DraftTimeout, LLMUnavailable, UnusableHome
from agent_postmortem.ingest.jsonl import read_incidents
from agent_postmortem.llm.registry import choose_llm
from agent_postmortem.service.facade import PostmortemService
from agent_postmortem.service.results import CaptureResult
from agent_postmortem.service.runtime import build_service
from agent_postmortem.store.models import IncidentCreate
from agent_postmortem.store.private import write_output

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


def run_demo(out: Console, *, home: Path | None = None, output: Path | None = None) -> dict[str, Any]:
    """The demo on `home`, or on a temporary data directory removed at the end (nothing is left in /tmp): the
    report is then printed, and written to `output` when given. Returns what was made, for --json."""
    if home is not None:
        return _run(out, home, output, keep=True)
    with tempfile.TemporaryDirectory(prefix="postmortem-demo-", ignore_cleanup_errors=True) as folder:
        return _run(out, Path(folder), output, keep=False)


def demo_settings(home: Path) -> Settings:
    """The environment's settings on `home`; where `auto` finds no model configured, the demo chooses the bundled one
    (POSTMORTEM_LLM=local) so that it drafts offline, and says that the draft is low quality."""
    settings = Settings.from_env({**os.environ, "POSTMORTEM_HOME": str(home)})
    if settings.llm_backend != "auto":
        return settings
    try:
        if choose_llm(settings) is not None:
            return settings
    except LLMUnavailable:
        return settings  # a broken configuration: _draft says what is wrong with it
    return replace(settings, llm_backend="local")


def _run(out: Console, home: Path, output: Path | None, *, keep: bool) -> dict[str, Any]:
    settings = demo_settings(home)
    out.rule("agent-postmortem demo")
    where = str(home) if keep else "a temporary directory, removed at the end (--home DIR keeps it)"
    out.print(line(f"Data directory: {where} (SQLite + bundled all-MiniLM-L6-v2 embeddings)"))
    try:
        service = build_service(settings)
    except UnusableHome as e:  # the home is the one --home gave, not POSTMORTEM_HOME's
        if not keep:
            raise
        raise UnusableHome(e.home, e.error, flag="--home") from None
    try:
        captured, drafted = _loop(out, service, settings)
        text = service.render_report(captured.id)
    finally:
        service.close()
    path = output or (home / "reports" / f"{captured.id}.md" if keep else None)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_output(path, text)
        out.print(line("\n4. Post-mortem report written to: ", (path, "bold")))
    else:
        out.print(line("\n4. The post-mortem report (-o FILE writes it to a file):\n"))
        out.print(cell(text), soft_wrap=True)  # Markdown kept as it is: no line breaks added at the width
    report = None if path is None else str(path)
    return {"home": str(home) if keep else None, "incident_id": captured.id, "drafted": drafted, "report": report}


def _loop(out: Console, service: PostmortemService, settings: Settings) -> tuple[CaptureResult, bool]:
    started = time.monotonic()
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
    out.print(line("\n2. Capturing a new failure: ", (DEMO_INCIDENT.title, "bold")))
    captured = service.capture_incident(DEMO_INCIDENT)
    show_decision(out, captured, incident_id=captured.id)
    out.print("\n3. Drafting the analysis")
    return captured, _draft(out, service, settings, captured.id)


def _draft(out: Console, service: PostmortemService, settings: Settings, incident_id: str) -> bool:
    try:
        choice = choose_llm(settings)
    except LLMUnavailable as e:
        out.print(line((str(e), "yellow")))
        choice = None
    if choice is None:
        out.print(line(("No LLM is available, so no draft was written. ", "yellow"), _how_to_choose()))
        return False
    out.print(line("   LLM: ", (choice.describe, "bold"), f" (backend: {choice.backend})"))
    if choice.low_quality:
        warning = (
            "   This is the tiny bundled 135M-parameter model (the demo's choice, POSTMORTEM_LLM=local): it proves the "
            "pipeline works offline, but its analysis is LOW QUALITY and not to be trusted. "
        )
        out.print(line((warning, "yellow"), _how_to_choose()))
    try:
        with stage_status(f"   drafting {incident_id}") as progress:
            analysis = service.draft_analysis(incident_id, progress=progress)
        tracked = service.add_drafted_action_items(incident_id)
    except (LLMUnavailable, DraftError, DraftTimeout) as e:
        out.print(line(("Drafting failed: ", "yellow"), (str(e), "yellow")))
        refused = "a draft that is not an analysis is refused, not kept. " if isinstance(e, DraftError) else ""
        out.print(line(f"   Nothing was stored: {refused}{_REAL_DRAFTS}"))
        return False
    show_analysis(out, analysis, incident_id)
    out.print(f"   {len(tracked)} proposed action items are now tracked.")
    return True


_REAL_DRAFTS = (  # after "Nothing was stored:" and, for a refused draft, why (a timeout was called a refusal)
    "With a capable model (below), or in an MCP client whose assistant writes the analysis (draft_analysis hands "
    "it the incident, record_analysis stores it; the client configuration is in the README), this step gives the "
    "5 whys, contributing factors and tracked action items."
)


def _how_to_choose() -> str:
    return (
        "For real drafts, point it at a capable model: set OPENAI_BASE_URL, OPENAI_API_KEY and POSTMORTEM_MODEL "
        "(OpenAI, Ollama, vLLM, LM Studio...), or POSTMORTEM_LOCAL_MODEL=/path/to/model.gguf."
    )
