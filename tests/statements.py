"""The SQL statements an engine sends, to count what a read costs; and the incidents read one by one, to compare a
read a chunk at a time with."""

import contextlib
from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import Engine, event

from agent_postmortem.store.models import Incident
from agent_postmortem.store.records.incidents import IncidentStore


@contextlib.contextmanager
def sent_by(engine: Engine) -> Iterator[list[str]]:
    """The statements `engine` sends inside the block, in order."""
    sent: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        sent.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", record)


def whole_reads(sent: list[str]) -> int:
    """How many of `sent` read incidents whole: a read of one or of a chunk (records/batch.py) takes their timelines
    in one statement."""
    return sum(s.startswith("SELECT timeline_events.pk, ") for s in sent)


def one_by_one(
    store: IncidentStore, incident_ids: Sequence[str], *, accepted: bool = False, history: bool = False
) -> Iterator[tuple[str, Incident | None]]:
    """`IncidentStore.get_many` as runbooks and pages read before: each incident by itself."""
    for incident_id in sorted(set(incident_ids), key=lambda i: int(i.removeprefix("INC-"))):
        if (found := store.get(incident_id, accepted=accepted)) is not None:
            yield incident_id, found
