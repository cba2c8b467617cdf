"""A capture stored in a PostgreSQL database that is away for a moment (restarting, failing over, at its connection
limit) is tried again, as one sent to a team server is (sdk/remote.py): the recorder logged "a capture was not
stored" at once, and a database restart lost every capture its agents made meanwhile."""

import logging
import time
import uuid
from collections.abc import Callable
from typing import TypeVar

from agent_postmortem.sdk.outage import Outage
from agent_postmortem.storage_failure import database_away, failure_reason
from agent_postmortem.store.models import IncidentCreate

logger = logging.getLogger("agent_postmortem.sdk.recorder")
RETRY_DELAYS = (0.5, 2.0, 5.0)  # seconds before each retry: rides out a restart, not an outage
T = TypeVar("T")


def keyed(data: IncidentCreate) -> IncidentCreate:
    """The capture with an idempotency key, chosen once: a retry after a commit whose answer was lost stores nothing
    new."""
    if data.idempotency_key is not None:
        return data
    return data.model_copy(update={"idempotency_key": f"sdk-{uuid.uuid4().hex}"})


def while_away(
    attempt: Callable[[], T],
    outage: Outage,
    *,
    delays: tuple[float, ...] = RETRY_DELAYS,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """`attempt()`, tried again after each of `delays` while the database is away; once it has stayed away through
    them (the outage), later captures are tried once until one is stored."""
    for delay in [*([] if outage.down else delays), None]:
        try:
            result = attempt()
        except Exception as e:
            if delay is None or not database_away(e):
                raise
            outage.failed()
            logger.info("postmortem: the database is away (%s); trying again in %.1f s", failure_reason(e), delay)
            sleep(delay)
        else:
            outage.recovered()
            return result
    raise AssertionError("unreachable")
