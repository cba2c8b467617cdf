"""The dashboard's figures from the service's reads."""

import json
from datetime import timedelta
from pathlib import Path

import httpx

from agent_postmortem.ingest.jsonl import read_incidents
from agent_postmortem.store.models import ActionItem, ActionItemCreate, ActionStatus, IncidentCreate, utcnow
from agent_postmortem.web.metrics import dashboard, owners
from tests.factories import FIXED_NOW, make_service
from tests.http_server import TOKEN, serving
from tests.web.site import sign_in


def _item(n: int, owner: str | None, status: ActionStatus = "open", overdue: bool = False) -> ActionItem:
    return ActionItem(
        id=f"AI-{n}",
        incident_id="INC-1",
        title=f"Item {n}",
        owner=owner,
        status=status,
        overdue=overdue,
        created_at=FIXED_NOW + timedelta(minutes=n),
    )


def test_completion_per_owner_counts_an_owner_spelled_in_two_cases_once() -> None:
    """The owner filter matches "dana" and "Dana" as one owner, but the dashboard drew a bar for each spelling."""
    items = [_item(3, "Dana", "completed"), _item(1, "dana", overdue=True), _item(2, "lee"), _item(4, None)]
    assert owners(items) == [("Dana", 2, 1, 1), ("(none)", 1, 0, 0), ("lee", 1, 0, 0)]


def test_resolved_incidents_without_a_resolution_time_are_counted_not_called_unresolved(tmp_path: Path) -> None:
    """Imported post-mortems (resolved, with no `resolved_at`) made the dashboard say "No incident captured in these
    weeks was resolved" beside a severity mix of those very resolved incidents."""
    service = make_service(tmp_path / "home")
    path = tmp_path / "past.jsonl"
    created = (utcnow() - timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
    titles = ["IP starvation in the cluster", "Surveys SDK bug", "Ingress certificate expired"]
    path.write_text("".join(json.dumps({"title": t, "created_at": created}) + "\n" for t in titles))
    service.import_incidents(read_incidents(path))
    found = dashboard(service, now=utcnow(), effectiveness=service.fix_effectiveness())
    assert (found.incidents, found.resolved_untimed, found.resolve["all"].n) == (3, 3, 0)
    with serving(service) as base, httpx.Client(base_url=base, timeout=60) as client:
        sign_in(client, TOKEN)
        page = client.get("/dashboard").text
    assert "was resolved." not in page and "3 incidents resolved in these weeks have no resolution time" in page


def test_an_owner_row_shown_as_a_placeholder_is_explained_as_the_stats_explain_it(tmp_path: Path) -> None:
    """Two people given by their addresses were one "[REDACTED:email]" row on the dashboard with no word of it, read
    as one person's items; the CLI and MCP stats said so (`owners_note`), the dashboard now says the same."""
    service = make_service(tmp_path / "home")
    incident = service.capture_incident(IncidentCreate(title="Certificate expired on the ingress")).id
    service.add_action_item(incident, ActionItemCreate(title="Document renewal", owner="dana"))
    assert dashboard(service, now=utcnow(), effectiveness=service.fix_effectiveness()).owners_note is None
    for owner in ("dana.smith@example.com", "bob@corp.example.org"):
        service.add_action_item(incident, ActionItemCreate(title="Alert before expiry", owner=owner))
    found = dashboard(service, now=utcnow(), effectiveness=service.fix_effectiveness())
    assert ("[REDACTED:email]", 2, 0, 0) in found.owners
    assert found.owners_note == service.action_item_stats().owners_note and found.owners_note is not None
    with serving(service) as base, httpx.Client(base_url=base, timeout=60) as client:
        sign_in(client, TOKEN)
        page = client.get("/dashboard").text
    assert "[REDACTED:email]: every owner given as an email address" in page


def test_an_empty_dashboard_says_what_each_chart_has_not_got_instead_of_drawing_empty_axes(tmp_path: Path) -> None:
    """As found with `postmortem ui` on a new home: the dashboard drew an empty week chart with a 0-1 axis, an empty
    severity card, an owners legend with no bar and a pattern table of headers alone, with no word of why."""
    with serving(make_service(tmp_path / "home")) as base, httpx.Client(base_url=base, timeout=60) as client:
        sign_in(client, TOKEN)
        page = client.get("/dashboard").text
    assert "<svg" not in page and "<tbody>\n</tbody>" not in page and "<tbody></tbody>" not in page
    for said in (
        "No incident was captured in these weeks.",
        "No action items yet.",
        "No recurring patterns yet",
    ):
        assert said in page, said
