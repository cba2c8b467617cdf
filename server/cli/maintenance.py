"""`postmortem check`, `reindex` and `redact`: the upkeep of a home (its database and vector index checked and
repaired, the index rebuilt from the stored vectors, this version's redaction applied to what was stored before).
Registered by server/cli/app.py from COMMANDS."""

from typing import TYPE_CHECKING, Annotated, Any

import typer

from agent_postmortem.cli.access import stored_service
from agent_postmortem.cli.common import FAILED, JsonOpt, emit, err, settings, user_errors

if TYPE_CHECKING:
    from agent_postmortem.service.facade import PostmortemService


def check(
    repair: Annotated[bool, typer.Option(help="rebuild a broken or incomplete index from the records")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Check the database (integrity) and the vector index (probed in a child process); exit 1 when something is
    wrong and was not repaired. Repair while no server uses the data directory."""
    from agent_postmortem.cli.access import has_data, nothing_yet
    from agent_postmortem.cli.common import out
    from agent_postmortem.cli.summary import health_view
    from agent_postmortem.service.health import HealthReport
    from agent_postmortem.service.health import check as run_check

    configured = settings()
    with user_errors():  # a team's schema is looked up in the database
        held = has_data(configured)
    if not held:  # nothing to check, and nothing is created
        nothing_yet(configured)
        empty = HealthReport(database_integrity="ok", records=0, embedded=0, index="fresh", indexed=0, pending_outbox=0)
        emit(empty, as_json)
        return
    with user_errors():
        report = run_check(configured, repair=repair)
    if not emit(report, as_json):
        out.print(health_view(report))
    if not report.healthy:
        raise typer.Exit(FAILED)


def reindex(as_json: JsonOpt = False) -> None:
    """Rebuild the vector index from the vectors stored with the records."""
    with user_errors():
        n = stored_service().reindex()
    if not emit({"reindexed": n}, as_json):
        err.print(f"reindexed {n} incidents")


def redact(
    apply: Annotated[bool, typer.Option("--apply", help="replace what is found (without it: only count)")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Apply this version's redaction rules to the records already stored (text is redacted at capture, so records
    stored before a rule existed keep what it finds). Counts per kind, never values; --apply replaces them and embeds
    the changed incidents again. Stop the servers on this home first, or restart them after."""
    with user_errors():
        svc = stored_service()
        result = svc.redact_stored(apply=apply)
        reindexed, server = _reindexed(svc) if apply and result.incidents else (0, None)
    if emit({**result.as_dict(), "reindexed": reindexed, "index_owner": server}, as_json):
        return
    kinds = ", ".join(f"{kind} {n}" for kind, n in sorted(result.found.items()))
    rows = sum(result.rows.values())
    if not rows:  # "found nothing in 0 rows of 0 incidents" read as if the home held no incidents
        err.print("nothing to redact: today's rules find no secret or personal datum in the stored records",
                  markup=False)  # fmt: skip
    elif not apply:
        err.print(f"found {kinds} in {rows} rows of {len(result.incidents)} incidents", markup=False)
        err.print("run again with --apply to replace them (stop the servers on this home first)", markup=False)
    else:
        err.print(f"replaced {kinds} in {rows} rows of {len(result.incidents)} incidents; reindexed {reindexed}",
                  markup=False)  # fmt: skip
    if server:
        err.print(f"{server}: a server on this home takes the changed incidents from its queue; restart it so that "
                  "its searches forget the old text", markup=False)  # fmt: skip


def _reindexed(svc: "PostmortemService") -> tuple[int, str | None]:
    """The incidents indexed again, or none and the process that owns the index (a server on this home: the changed
    incidents' vectors are stored again, and their outbox rows bring them into its index)."""
    from agent_postmortem.errors import IndexBusy

    try:
        return svc.reindex(), None
    except IndexBusy as e:
        return 0, str(e)


COMMANDS: list[tuple[str, Any]] = [("check", check), ("reindex", reindex), ("redact", redact)]
