"""What the tests of real clients share: the stdio server's parameters on a home, and a seeded home in which one
incident alone holds a rare word."""

import os
import sys
from pathlib import Path

from mcp import StdioServerParameters

from agent_postmortem.service.facade import PostmortemService
from agent_postmortem.store.models import IncidentCreate
from agent_postmortem.store.search.embedding import Embedder
from tests.factories import ROOT, make_service

CLI = str(Path(sys.executable).parent / "postmortem")


RARE = "qwxzvbn7731"  # a token only one incident has: only the lexical side can find it


def stdio(home: Path) -> StdioServerParameters:
    env = {
        "POSTMORTEM_HOME": str(home),
        "POSTMORTEM_LLM": "none",
        "POSTMORTEM_MODEL_CACHE": os.environ["POSTMORTEM_MODEL_CACHE"],  # exported once per session (`embedder`)
        "HF_HUB_OFFLINE": "1",
        "PATH": os.environ["PATH"],
        "PYTHONPATH": str(ROOT),
    }
    return StdioServerParameters(command=CLI, args=["serve"], env=env)


def seeded_home(home: Path, embedder: Embedder) -> str:
    """A home with a few dozen incidents, one of which alone holds RARE; its id."""
    service: PostmortemService = make_service(home, embedder=embedder)
    for n in range(30):
        word = ["refund", "ledger", "planner", "browser", "invoice", "calendar"][n % 6]
        service.capture_incident(
            IncidentCreate(title=f"The {word} agent failed on attempt {n}", error_message=f"{word} returned {400 + n}")
        )
    rare = service.capture_incident(
        IncidentCreate(title="Checkout agent crashed on a coupon", error_message=f"CouponParseError near {RARE}")
    )
    service.knowledge.release_index()  # the server processes below take it, as on a real machine
    return rare.id
