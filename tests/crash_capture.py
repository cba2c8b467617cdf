"""The process the crash tests kill: it opens the home as a server does (taking the vector index, checking it and
rebuilding it when it cannot be trusted), reports what it found, then captures until it is killed, printing one
line per acknowledged capture. Run as `python -m tests.crash_capture HOME`; tests/system/test_crash.py runs `main` in
processes forked from one that imported it once."""

import os
import sys

from agent_postmortem.config import Settings
from agent_postmortem.service.runtime import build_service
from agent_postmortem.store.models import IncidentCreate

WORDS = ["refund", "ledger", "planner", "browser", "search", "invoice", "calendar", "ticket", "shipping", "pricing"]


def main(home: str) -> None:
    settings = Settings.from_env({**os.environ, "POSTMORTEM_HOME": home, "POSTMORTEM_LLM": "none"})
    service = build_service(settings, claim_index=True)
    service.knowledge.embed_query("warm up")  # load the model as a server does before its first capture
    service.knowledge.warm()
    claimed = service.knowledge.claimed
    sys.stdout.write(f"READY {claimed.found if claimed else 'unowned'} {int(bool(claimed and claimed.rebuilt))}\n")
    sys.stdout.flush()
    n = 0
    while True:
        key = f"crash-{os.getpid()}-{n}"
        word = WORDS[n % len(WORDS)]
        result = service.capture_incident(
            IncidentCreate(
                title=f"The {word} agent failed on attempt {key} while calling {word}.api",
                error_message=f"{word} tool returned status {400 + n % 100} for request {key}",
                tool=f"{word}.api",
                idempotency_key=key,
            )
        )
        sys.stdout.write(f"ACK {result.id} {key}\n")
        sys.stdout.flush()
        n += 1


if __name__ == "__main__":
    main(sys.argv[1])
