"""The example agent of docs/sdk.md runs as documented and its failures arrive classified, repeats collapsed."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from agent_postmortem.config import Settings
from agent_postmortem.service.runtime import build_service
from tests.factories import ROOT
from tests.processes import postmortem

pytestmark = pytest.mark.slow


def test_the_example_agent_records_its_failures(tmp_path: Path) -> None:
    env = {**os.environ, "POSTMORTEM_HOME": str(tmp_path), "POSTMORTEM_LLM": "none"}
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "trip_agent.py")], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    service = build_service(Settings.from_env(env))
    stored = [service.store.get_or_raise(i.id) for i in service.list_incidents().incidents]
    incidents = {i.tool: i for i in stored}
    assert incidents.keys() == {"flights.search", "payments.refund", "hotels.book"}
    assert incidents["flights.search"].category == "rate_limit" and incidents["flights.search"].occurrences == 3
    assert incidents["payments.refund"].category == "business_logic" and incidents["payments.refund"].user_facing
    assert "discount_code" in (incidents["hotels.book"].tool_args or "")
    # what docs/sdk.md says a person sees: `show` printed neither the reach (user-facing) nor the tool's
    # arguments, the prompt or the stack trace; only --json had them
    shown = {tool: postmortem("show", i.id, home=tmp_path).stdout.decode() for tool, i in incidents.items()}
    assert re.search(r"^occurrences\s+3\s", shown["flights.search"], re.MULTILINE), shown["flights.search"]
    assert "user-facing" in shown["payments.refund"] and "Refund my cancelled trip" in shown["payments.refund"]
    assert "Stack trace" in shown["payments.refund"] and "raise PolicyViolation" in shown["payments.refund"]
    assert "discount_code" in shown["hotels.book"] and "user-facing" not in shown["hotels.book"]
    # and the post-mortem (Markdown, so the web view and the HTML file too) had none of the three either
    report = postmortem("report", incidents["payments.refund"].id, home=tmp_path).stdout.decode()
    assert "**Stack trace:**\n\n```text\nTraceback (most recent call last):" in report
    assert "raise PolicyViolation" in report and "**Prompt (excerpt):** Refund my cancelled trip" in report
    hotel = postmortem("report", incidents["hotels.book"].id, home=tmp_path).stdout.decode()
    assert "**Tool arguments:** `" in hotel and "discount_code" in hotel


def test_every_python_sample_of_the_sdk_page_runs_as_written(tmp_path: Path) -> None:
    """A reader copies a sample into a file and runs it: the first stopped at `async with` outside a coroutine and
    at names it never defined (`user_message`, `refund`, `error`), the remote one at `Recorder` never imported."""
    samples = re.findall(r"```python\n(.*?)```", (ROOT / "docs" / "sdk.md").read_text(encoding="utf-8"), re.DOTALL)
    env = {**os.environ, "POSTMORTEM_HOME": str(tmp_path), "POSTMORTEM_LLM": "none", "PM_TOKEN": "pm_sample"}
    env.pop("POSTMORTEM_URL", None)
    for number, sample in enumerate(samples):
        script = tmp_path / f"sample{number}.py"
        script.write_text(sample, encoding="utf-8")
        done = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0 and not done.stderr, (number, done.stderr[-2000:])
    service = build_service(Settings.from_env(env))
    stored = [service.store.get_or_raise(i.id) for i in service.list_incidents().incidents]
    assert sorted((i.tool, i.error_type, i.occurrences) for i in stored) == [
        ("crm.update", "KeyError", 1),
        ("crm.update", "PermissionError", 1),
        ("flights.search", "TimeoutError", 1),
        ("payments.refund", "ValueError", 2),
    ]
