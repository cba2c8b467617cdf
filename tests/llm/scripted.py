"""What the OpenAI-compatible tests send and script: the prompt, a valid analysis and an invalid one, and
settings read from a given environment only."""

import json

from agent_postmortem.config import Settings
from agent_postmortem.llm.openai_compatible import OpenAILLM
from agent_postmortem.store.models import AnalysisDraft

SYSTEM, USER = "You write post-mortems.", "Draft the analysis."
CANARY = "CANARY-7f3e1b-incident-secret"
GOOD = {
    "whys": [
        {"question": "Why did the agent book the wrong flight?", "answer": "It read a stale fare from the cache."},
        {"question": "Why was the fare stale?", "answer": "The cache had no expiry for fares."},
        {"question": "Why had it no expiry?", "answer": "The system allowed caches without a freshness check."},
    ],
    "root_cause": "Fare caches shipped without an expiry, so the agent acted on stale prices.",
    "contributing_factors": [{"factor": "no fare expiry", "effect": "stale prices used"}],
    "action_items": [
        {
            "title": "Add a 5-minute expiry to the fare cache",
            "owner_role": "booking team",
            "priority": "P1",
            "due_in_days": 14,
            "addresses": "root cause",
        }
    ],
    "model_behavior": None,
    "determinism": "deterministic",
    "runs_to_verify": None,
    "responsible": "fares client",
    "decisive_step": None,
}
VALID = json.dumps(GOOD)
# Two schema problems: too few whys, and a priority outside P0-P2.
INVALID = json.dumps(
    {**GOOD, "whys": GOOD["whys"][:1], "action_items": [{**GOOD["action_items"][0], "priority": "P9"}]}
)


def draft(llm: OpenAILLM) -> AnalysisDraft:
    return llm.parse(system=SYSTEM, user=USER, output=AnalysisDraft)


def settings(**env: str) -> Settings:
    return Settings.from_env(env)
