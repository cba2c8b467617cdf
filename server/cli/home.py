"""`postmortem init`: a knowledge base to start from. A new home has no past incidents, so every early capture is
"novel" and finds nothing similar; init creates the home private and, when asked (never silently), loads the
seed of fictional past incidents that `postmortem demo` uses. Real history comes in with `postmortem import`."""

import stat
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from agent_postmortem.cli.common import JsonOpt, closed_at_end, emit, err, out, user_errors

if TYPE_CHECKING:
    from agent_postmortem.service.facade import PostmortemService
    from agent_postmortem.service.results import InitResult


def init(
    seed: Annotated[
        bool | None,
        typer.Option(
            "--seed/--no-seed",
            help="load the seed knowledge base (45 fictional incidents; they show up in searches); "
            "without either flag, a terminal is asked and a script gets no seed",
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Create the data directory (private to you) and its database, and offer the seed knowledge base."""
    from agent_postmortem.config import Settings
    from agent_postmortem.service.results import InitResult
    from agent_postmortem.service.runtime import build_service
    from agent_postmortem.store.errors import ReadOnlyStore
    from agent_postmortem.store.records.readonly import writable

    with user_errors():
        settings = Settings.from_env()
        if not settings.database_url and not writable(settings.store_home):
            raise ReadOnlyStore(str(settings.store_home))
        made_private = _make_private(settings.store_home)
        service = closed_at_end(build_service(settings))
        stored = service.store.count()
        if seed is None:
            seed = not as_json and stored == 0 and _ask()
        seeded = _load_seed(service) if seed else 0
        result = InitResult(
            home=str(settings.store_home),
            team=settings.team,
            database="postgresql" if settings.database_url else "sqlite",
            incidents=service.store.count(),
            seeded=seeded,
            made_private=made_private,
        )
    if emit(result, as_json):
        return
    _show(result, seed_asked=bool(seed))


def _make_private(home: Path) -> bool:
    """Take group and other permissions off an existing home (init is the owner saying where the data lives)."""
    if not home.is_dir() or not stat.S_IMODE(home.stat().st_mode) & 0o077:
        return False
    home.chmod(0o700)
    return True


def _ask() -> bool:
    if not sys.stdin.isatty():
        return False
    return typer.confirm(
        "The knowledge base is empty. Load the seed of 45 fictional past incidents to try it out "
        "(they will show up in searches)?",
        default=False,
        err=True,
    )


def _load_seed(service: "PostmortemService") -> int:
    from agent_postmortem.cli.demo import SEED
    from agent_postmortem.ingest.jsonl import read_incidents

    err.print("loading the seed knowledge base (the first run loads the embedding model)")
    return service.import_incidents(read_incidents(SEED)).imported


def _show(result: "InitResult", *, seed_asked: bool = False) -> None:
    from agent_postmortem.service.runtime import EMPTY_HINT

    where = f"{result.home} (PostgreSQL for the records)" if result.database == "postgresql" else result.home
    out.print(f"data directory: {where}, private to you", markup=False, soft_wrap=True)
    if result.made_private:
        out.print("  it was readable by other users: its mode is now 0700", markup=False)
    if result.seeded:
        out.print(f"loaded {result.seeded} fictional incidents from the seed knowledge base", markup=False)
    elif seed_asked:  # a second --seed said "loading the seed knowledge base" and then nothing of it
        out.print("the seed knowledge base is loaded already: nothing was added", markup=False)
    out.print(f"team {result.team}: {result.incidents} incidents stored", markup=False)
    if result.incidents == 0:
        out.print(f"the knowledge base is empty: {EMPTY_HINT}", markup=False, soft_wrap=True)
