"""`postmortem review INC-n --accept|--reject`, as a subprocess: the decision is kept with who and why, shown by
`show`, and a rejected analysis stops feeding the runbook."""

import json
from pathlib import Path

from tests.processes import postmortem

ROOT_CAUSE = "The fares API client shared one key across 40 workers with no retry budget."
PAST = {
    "title": "Booking agent got 429 Too Many Requests from the fares API",
    "description": "Every retry went out immediately from 40 workers sharing one key.",
    "error_type": "RateLimitError",
    "error_message": "429 Too Many Requests: quota exceeded",
    "category": "rate_limit",
    "analysis": {
        "whys": [{"question": "Why did the fares API answer 429?", "answer": "The shared key ran out of quota."}],
        "root_cause": ROOT_CAUSE,
    },
}


def run(home: Path, *args: str) -> tuple[int, str, str]:
    done = postmortem(*args, home=home)
    return done.returncode, done.stdout.decode(), done.stderr.decode()


def test_review_from_the_command_line_is_kept_shown_and_stops_a_rejected_analysis_feeding_runbooks(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    (tmp_path / "past.jsonl").write_text(json.dumps(PAST) + "\n", encoding="utf-8")
    assert run(home, "import", str(tmp_path / "past.jsonl"))[0] == 0
    assert ROOT_CAUSE in run(home, "runbook", "rate_limit")[1]  # imported analyses count as accepted

    code, out, err = run(home, "review", "INC-1", "--reject", "--by", "lee", "--note", "not the cause")
    assert code == 0 and "REJECTED by lee" in out and "not the cause" in out, err
    assert "REJECTED by lee" in run(home, "show", "INC-1")[1]
    assert ROOT_CAUSE not in run(home, "runbook", "rate_limit")[1]

    code, out, _ = run(home, "review", "INC-1", "--accept", "--json")
    assert code == 0 and json.loads(out)["state"] == "accepted"
    assert ROOT_CAUSE in run(home, "runbook", "rate_limit")[1]

    for args in (("review", "INC-1"), ("review", "INC-1", "--accept", "--reject"), ("review", "INC-99", "--accept")):
        code, out, err = run(home, *args)
        assert code == 2 and "Traceback" not in err and err.startswith("error:"), (args, err)


def test_the_same_verdict_again_from_no_one_keeps_who_reviewed_it_and_why(tmp_path: Path) -> None:
    """A second `review --accept` (a retried script) stored the acceptance anew without a reviewer or note: "accepted
    by dana: matches the incident" became "accepted" on the analysis and in the report, and a timeline event more."""
    home = tmp_path / "home"
    (tmp_path / "past.jsonl").write_text(json.dumps(PAST) + "\n", encoding="utf-8")
    assert run(home, "import", str(tmp_path / "past.jsonl"))[0] == 0
    assert run(home, "review", "INC-1", "--reject", "--by", "dana", "--note", "not the cause")[0] == 0
    before = json.loads(run(home, "show", "INC-1", "--json")[1])

    code, out, err = run(home, "review", "INC-1", "--reject")
    assert code == 0 and "REJECTED by dana" in out and "not the cause" in out, err
    after = json.loads(run(home, "show", "INC-1", "--json")[1])
    assert after["analysis"] == before["analysis"] and after["timeline"] == before["timeline"]
    assert "by dana" in run(home, "report", "INC-1")[1]

    code, out, _ = run(home, "review", "INC-1", "--reject", "--by", "lee")  # a reviewer of its own: a new review
    assert code == 0 and "REJECTED by lee" in out


def test_a_review_naming_the_analysis_read_is_refused_when_a_newer_one_was_stored(tmp_path: Path) -> None:
    """`postmortem review INC-1 --accept` accepted whatever analysis was latest when it ran: one drafted after the
    reviewer read theirs was accepted unread. `--analysis N` (the number `show` gives) is refused when it is no
    longer the latest, naming the latest and the command for it, with nothing changed."""
    from tests.factories import capture, draft, make_service

    home = tmp_path / "home"
    service = make_service(home, llm=None)
    incident_id = capture(service)
    read = service.record_analysis(incident_id, draft(), generated_by="assistant").id
    code, shown, _ = run(home, "show", incident_id)
    assert code == 0 and f"analysis {read}, DRAFT" in shown and f"review {incident_id} --analysis {read} --acc" in shown
    newer = service.record_analysis(incident_id, draft(), generated_by="assistant").id
    assert read is not None and newer is not None and newer > read

    code, out, err = run(home, "review", incident_id, "--accept", "--analysis", str(read))
    assert code == 2 and out == "" and err.count("\n") == 1 and "Traceback" not in err, err
    assert err.startswith(f"error: analysis {read} is not {incident_id}'s latest, analysis {newer} (draft) is"), err
    assert f"`postmortem review {incident_id} --analysis {newer}`" in err
    assert "get_incident" not in err and "analysis_id" not in err  # a command's words, no tool's
    assert json.loads(run(home, "show", incident_id, "--json")[1])["analysis"]["state"] == "draft"

    code, out, err = run(home, "review", incident_id, "--accept", "--analysis", str(newer))
    assert code == 0 and f"analysis {newer} accepted" in out, err
    code, out, err = run(home, "review", incident_id, "--reject", "--analysis", "0")
    assert code == 2 and "--analysis" in err, err


def test_show_lists_the_action_items_an_analysis_proposes_before_it_is_reviewed(tmp_path: Path) -> None:
    """`review --help` says to read the analysis with `show` before accepting it, and `show` gave its whys and factors
    but not the action items it proposes: a reviewer accepted them unseen (the report and `draft` list them)."""
    from agent_postmortem.store.models import ActionItemCreate, AnalysisDraft, IncidentCreate
    from tests.factories import make_service

    home = tmp_path / "home"
    service = make_service(home)
    captured = service.capture_incident(IncidentCreate(title=PAST["title"], description=PAST["description"]))
    draft = {
        "whys": [
            {"question": "Why did the fares API answer 429?", "answer": "The shared key ran out of quota."},
            {"question": "Why did the key run out?", "answer": "Forty workers retried at once with no budget."},
            {"question": "Why was there no retry budget?", "answer": "The fares client had no shared rate limiter."},
        ],
        "root_cause": ROOT_CAUSE,
        "action_items": [
            {
                "title": "Add a shared token-bucket limiter to the fares API client",
                "owner_role": "booking team",
                "priority": "P0",
                "due_in_days": 7,
                "addresses": "no retry budget",
            }
        ],
    }
    tracked = "Alert when the fares API answers 429 for more than a minute"
    service.add_action_item(captured.id, ActionItemCreate(title=tracked, owner="sre"))
    repeat = {**draft["action_items"][0], "title": "alert when the fares API answers 429 for more than a minute."}
    draft["action_items"].append(repeat)
    service.record_analysis(captured.id, AnalysisDraft.model_validate(draft), generated_by="assistant")
    code, out, err = run(home, "show", captured.id)
    shown = " ".join(out.split())
    assert code == 0 and "proposed by the analysis, not yet tracked (`postmortem actions --incident " in shown, err
    assert f"--incident {captured.id} --add TITLE --owner ... --priority ...` tracks one):" in shown
    assert "[ ] P0 Add a shared token-bucket limiter to the fares API client (owner: booking team; due in 7" in shown
    assert "more than a minute. (owner: booking team; due in 7 days; repeats the open AI-1)" in shown
