"""`postmortem demo`: the whole loop on embedded defaults, from a seed knowledge base to a written report."""

import logging
import os
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import Progress

from agent_postmortem import store
from agent_postmortem.cli.common import stage_status
from agent_postmortem.cli.output import cell, err, line
from agent_postmortem.cli.view import show_analysis, show_decision
from agent_postmortem.config import Settings
from agent_postmortem.errors import DraftError, DraftTimeout, LLMUnavailable, UnusableHome
from agent_postmortem.ingest.jsonl import read_incidents
from agent_postmortem.llm.registry import choose_llm, time_limit
from agent_postmortem.service.facade import PostmortemService
from agent_postmortem.service.results import CaptureResult
from agent_postmortem.service.runtime import build_service
from agent_postmortem.store.models import IncidentCreate
from agent_postmortem.store.private import write_output

logger = logging.getLogger(__name__)

SEED = Path(store.__file__).resolve().parent / "seed" / "incidents.jsonl"  # package data: works installed too
# The bundled model's draft in the demo, unless POSTMORTEM_DRAFT_TIMEOUT says otherwise: its backend's own 600 s made
# the demo last 5-8 minutes on a loaded 2-core machine; a newcomer sees the whole loop in about two minutes at most.
DEMO_DRAFT_S = 90.0

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


def run_demo(
    out: Console, *, home: Path | None = None, output: Path | None = None, progress: Console = err
) -> dict[str, Any]:
    """The demo on `home`, or on a temporary data directory removed at the end (nothing is left in /tmp): the
    report is then printed, and written to `output` when given; each phase's progress goes to `progress`. Returns
    what was made, for --json."""
    phases = Phases(progress)
    if home is not None:
        return _run(out, phases, home, output, keep=True)
    with tempfile.TemporaryDirectory(prefix="postmortem-demo-", ignore_cleanup_errors=True) as folder:
        return _run(out, phases, Path(folder), output, keep=False)


def demo_settings(home: Path) -> Settings:
    """The environment's settings on `home`; where `auto` finds no model configured, the demo chooses the bundled one
    (POSTMORTEM_LLM=local) so that it drafts offline, and says that the draft is low quality. The bundled model's
    draft gets DEMO_DRAFT_S in all unless POSTMORTEM_DRAFT_TIMEOUT is set."""
    settings = _with_model(Settings.from_env({**os.environ, "POSTMORTEM_HOME": str(home)}))
    if settings.llm_backend == "local" and not settings.local_model and settings.draft_timeout is None:
        return replace(settings, draft_timeout=DEMO_DRAFT_S)
    return settings


def _with_model(settings: Settings) -> Settings:
    if settings.llm_backend != "auto":
        return settings
    try:
        if choose_llm(settings) is not None:
            return settings
    except LLMUnavailable:
        return settings  # a broken configuration: _draft says what is wrong with it
    return replace(settings, llm_backend="local")


class Phases:
    """Progress lines on stderr, whatever stdout is: each phase of the demo as it starts and ends, with the seconds
    since the demo began, so that a long phase (the tiny model's draft) does not look hung."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.began = time.monotonic()

    def say(self, what: str) -> None:
        self.console.print(f"[demo {time.monotonic() - self.began:6.1f}s] {what}", markup=False, highlight=False)

    @contextmanager
    def phase(self, what: str) -> Iterator[None]:
        started = time.monotonic()
        self.say(f"{what}...")
        yield
        self.say(f"{what}: done in {time.monotonic() - started:.1f}s")


def _run(out: Console, phases: Phases, home: Path, output: Path | None, *, keep: bool) -> dict[str, Any]:
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
        captured, drafted = _loop(out, phases, service, settings)
        with phases.phase("4. rendering the report"):
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
    phases.say("demo done")
    report = None if path is None else str(path)
    return {"home": str(home) if keep else None, "incident_id": captured.id, "drafted": drafted, "report": report}


def _loop(out: Console, phases: Phases, service: PostmortemService, settings: Settings) -> tuple[CaptureResult, bool]:
    _start_model(phases, service, settings)  # its server starts while the knowledge base loads
    started = time.monotonic()
    rows = read_incidents(SEED)
    with phases.phase(f"1. loading the seed knowledge base: {len(rows)} incidents embedded"):
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
    with phases.phase("2. capturing the failure: category, severity, triage, similar incidents"):
        captured = service.capture_incident(DEMO_INCIDENT)
    show_decision(out, captured, incident_id=captured.id)
    out.print("\n3. Drafting the analysis")
    with phases.phase(f"3. drafting the analysis{_at_most(settings)}"):
        drafted = _draft(out, service, settings, captured.id)
    return captured, drafted


def _at_most(settings: Settings) -> str:
    """How long the draft may take in all, as the phase line says it."""
    try:
        choice = choose_llm(settings)
    except LLMUnavailable:
        return ""
    return (
        "" if choice is None else f" (at most {time_limit(settings, choice.backend):g} s, the model's start included)"
    )


def _start_model(phases: Phases, service: PostmortemService, settings: Settings) -> None:
    """Start the embedded llama.cpp server in the background (the draft waits for it if it is not ready yet); a
    failure to start is said by the draft, which starts it again."""
    try:
        choice = choose_llm(settings)
    except LLMUnavailable:
        return
    if choice is None or choice.backend != "local":
        return

    def start() -> None:
        began = time.monotonic()
        try:
            service.drafting.llm()
        except Exception:  # noqa: BLE001 - the top of a thread: the draft meets the same failure and says it
            logger.debug("the local model did not start in the background", exc_info=True)
            return
        phases.say(f"   the local model's server is ready (started in {time.monotonic() - began:.1f}s)")

    threading.Thread(target=start, name="demo-model-start", daemon=True).start()


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
        refused = "A draft that is not an analysis is refused, not kept. " if isinstance(e, DraftError) else ""
        where = "set as said above" if choice.low_quality else _VARIABLES  # the warning above says how, or nothing did
        out.print(line(f"   Nothing was stored. {refused}{_REAL_DRAFTS.format(where=where)}"))
        if isinstance(e, DraftTimeout) and settings.draft_timeout == DEMO_DRAFT_S and choice.low_quality:
            out.print(line(_OUT_OF_TIME.format(limit=DEMO_DRAFT_S)))
        return False
    show_analysis(out, analysis, incident_id)
    out.print(f"   {len(tracked)} proposed action items are now tracked.")
    return True


_OUT_OF_TIME = (  # after a timeout of the bundled model's draft under the demo's own limit
    "   The demo gives the bundled model {limit:g} s for its draft, the model's start included, so that it ends in "
    "minutes; on a busy 2-core machine one answer can take 2-3 minutes. To watch it to the end: "
    "POSTMORTEM_DRAFT_TIMEOUT=600 make demo."
)


_REAL_DRAFTS = (  # after "Nothing was stored." and, for a refused draft, why (a timeout was called a refusal)
    "With a capable model ({where}), or in an MCP client whose assistant writes the analysis (draft_analysis hands "
    "it the incident, record_analysis stores it; the client configuration is in the README), this step gives the "
    "5 whys, contributing factors and tracked action items."
)


_VARIABLES = (
    "OPENAI_BASE_URL, OPENAI_API_KEY and POSTMORTEM_MODEL (OpenAI, Ollama, vLLM, LM Studio...), or "
    "POSTMORTEM_LOCAL_MODEL=/path/to/model.gguf"
)


def _how_to_choose() -> str:
    return f"For real drafts, point it at a capable model: set {_VARIABLES}."
