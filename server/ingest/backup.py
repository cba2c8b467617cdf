"""Backups: `postmortem export` writes a consistent snapshot as JSONL (one complete incident per line), and
`postmortem import` of such a file restores it exactly (ids, times, timeline, analysis, action items) into an
empty home. Embeddings are recomputed on restore: they are a function of the text and the model. Both carry every
text whole (store/records/integrity.py, `whole_text`): the input limits are for new input, and a store made by an
older version holds longer texts (a long reopen note, an item title); the restore names each such text."""

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from agent_postmortem.analysis.wording import counted
from agent_postmortem.errors import PostmortemError, validation_problems
from agent_postmortem.ingest.json_input import JsonInputError, loads
from agent_postmortem.ingest.jsonfile import BOM, lines
from agent_postmortem.store.errors import InvalidId
from agent_postmortem.store.ids import action_pk, incident_pk, to_action_id, to_incident_id
from agent_postmortem.store.models import Incident, IncidentCreate
from agent_postmortem.store.records import db
from agent_postmortem.store.records.batch import CHUNK
from agent_postmortem.store.records.incidents import IncidentStore
from agent_postmortem.store.records.integrity import slot_of, validated, whole_text
from agent_postmortem.store.records.rows import NewIncident

if TYPE_CHECKING:
    from agent_postmortem.service.facade import PostmortemService

EXPORT_FORMAT = "agent-postmortem-export/1"
BATCH = 256
HEAD_BYTES = 64 * 1024
# One exported incident: its texts as the store holds them, its timeline unbounded.
MAX_EXPORT_LINE_BYTES = 256 * 1024 * 1024
# Redaction's placeholder (store/redact.py): it replaced at least one character ("a@b.io" became "[REDACTED:email]").
PLACEHOLDERS = re.compile(r"\[REDACTED:[a-z_0-9]+\]")
# The capture's texts an incident keeps: each is held to a capture's limit when it is new.
CAPTURED = tuple(sorted(IncidentCreate.model_fields.keys() & Incident.model_fields.keys()))
NOT_EMPTY = "a backup is restored into an empty home: point POSTMORTEM_HOME at a new directory"
ARRIVED = (
    "the knowledge base received {held} while the backup was being restored, so nothing was restored: stop the "
    "servers that capture into it, then restore into an empty knowledge base"
)


def export_lines(service: "PostmortemService", unreadable: list[str] | None = None) -> Iterator[str]:
    """One line per incident, every text whole. A row that no longer validates otherwise is exported as it reads,
    repaired (store/records/integrity.py); an incident damaged beyond repair is left out and its id added to
    `unreadable`: one row never blocks a backup."""
    with db.snapshot(service.store.engine) as engine:
        store = IncidentStore(engine)
        ids = store.all_ids()
        for start in range(0, len(ids), CHUNK):  # a chunk at a time, in a few statements each (records/batch.py)
            with whole_text():  # a text longer than new input takes (an older version's long note) goes whole
                read = list(store.get_many(ids[start : start + CHUNK], history=True))  # each item's changes too
            for incident_id, incident in read:
                if incident is None:
                    if unreadable is not None:
                        unreadable.append(incident_id)
                    continue
                record = incident.model_dump(mode="json")
                yield json.dumps({"format": EXPORT_FORMAT, "incident": record}, ensure_ascii=False)


def is_export(path: Path) -> bool:
    """Whether the file starts as an export does (read from its first bytes: its first line may be any length)."""
    with path.open("rb") as handle:
        head = handle.read(HEAD_BYTES).removeprefix(BOM).lstrip()
    return head.startswith(b'{"format": "' + EXPORT_FORMAT.encode())


def read_export(path: Path, notes: list[str] | None = None) -> list[Incident]:
    """The incidents of an export, every text as the backup holds it: one longer than new input takes (a store made
    by an older version holds such events and item titles) is restored whole and named in `notes`, never its value."""
    incidents, problems = [], []
    first_on: dict[str, int] = {}  # each incident and action item id: the line it is on (a backup holds it once)
    for number, line in lines(path, max_bytes=MAX_EXPORT_LINE_BYTES):
        if line is None:
            problems.append(f"line {number}: longer than {MAX_EXPORT_LINE_BYTES} bytes, more than any incident holds")
            continue
        try:
            row = loads(line)
            if not isinstance(row, dict) or row.get("format") != EXPORT_FORMAT:
                raise ValueError(f"not a {EXPORT_FORMAT} line")
            with whole_text():
                incident = validated(Incident, row["incident"])
            if beyond := wrong_id(incident) or out_of_range(incident):
                raise ValueError(beyond)
            problems += _twice(incident, number, first_on)
            incidents.append(incident)
            if notes is not None:
                notes += [f"line {number} ({incident.id}): {text}" for text in past_limits(row["incident"])]
        except JsonInputError as e:
            problems.append(f"line {number}: {e}")
        except ValidationError as e:
            problems.append(f"line {number}: {validation_problems(e, limit=3, within=('incident',))}")
        except (ValueError, KeyError) as e:
            problems.append(f"line {number}: {str(e)[:120]}")
    if problems:
        raise PostmortemError(f"{len(problems)} invalid line(s) in {path.name}; nothing was restored: {problems[0]}")
    return incidents


def wrong_id(incident: Incident) -> str | None:
    """The first id of an exported incident (or of its items) that no store gives: ids are database keys, from 1,
    written `INC-<n>` and `AI-<n>`. A restored INC-0 gave its pattern the id PAT-0, which `runbook` refuses (a pattern
    is named by its oldest incident, and ids start at 1); `INC-007` would have been restored as INC-7."""
    ids: list[tuple[str, str, Callable[[str], int], Callable[[int], str]]] = [
        ("id", incident.id, incident_pk, to_incident_id)
    ]
    ids += [(f"action_items.{n}.id", a.id, action_pk, to_action_id) for n, a in enumerate(incident.action_items)]
    for name, given, key, written in ids:
        try:
            number = key(given)
        except InvalidId as e:
            return f"incident.{name}: {e}"
        if number < 1 or written(number) != given:
            return f"incident.{name}: ids are {written(1)}, {written(2)}, ... (they start at 1, without leading zeros)"
    return None


def past_limits(record: dict[str, Any]) -> list[str]:
    """Each text of an exported incident longer than new input takes (a capture's texts, an event, an item title, an
    analysis), by field and length: the restore keeps it whole and says so. A stored text is the captured text
    redacted, so it is measured with each placeholder as one character: what redaction added is never named."""
    captured = {name: record[name] for name in CAPTURED if isinstance(record.get(name), str)}
    found = []
    for model, data in ((IncidentCreate, captured), (Incident, record)):
        try:
            model.model_validate(data)
        except ValidationError as e:
            for error in e.errors(include_input=False, include_url=False):
                slot = slot_of(data, error["loc"]) if error["type"] == "string_too_long" else None
                if slot is None:
                    continue
                text, limit = slot[0][slot[1]], int(error["ctx"]["max_length"])
                if len(PLACEHOLDERS.sub("*", text)) > limit:
                    where = ".".join(str(p) for p in error["loc"])
                    found.append(
                        f"incident.{where} holds {len(text):,} characters, more than new input takes "
                        f"({limit:,}): restored whole"
                    )
    return found


def out_of_range(incident: Incident) -> str | None:
    """The first value of an exported incident that no store holds: an occurrence count below 1 (shown as
    "occurrences -5") or a confidence outside 0 to 1."""
    if incident.occurrences < 1:
        return "incident.occurrences: at least 1 (the incident itself)"
    confidences = [("category_confidence", incident.category_confidence)]
    if incident.classifier_disagrees is not None:
        confidences.append(("classifier_disagrees.confidence", incident.classifier_disagrees.confidence))
    return next((f"incident.{name}: a confidence is from 0 to 1" for name, c in confidences if not 0 <= c <= 1), None)


def _twice(incident: Incident, number: int, first_on: dict[str, int]) -> list[str]:
    """The ids of this line that an earlier line holds too: an export appended to a file twice (`>>`) holds every
    incident twice, and the restore would stop at the database's unique key without naming the line."""
    found = []
    for key, name in [(incident.id, incident.id), *((a.id, f"action item {a.id}") for a in incident.action_items)]:
        seen = first_on.setdefault(key, number)
        if seen != number:
            found.append(f"line {number}: {name} is also on line {seen}; a backup holds each once")
    return found[:1]


def restore(service: "PostmortemService", incidents: list[Incident]) -> int:
    """Restore an export into an empty home, keeping every id; returns the number of incidents. Every text is embedded
    first; then one transaction checks that the store is still empty and writes the whole backup, holding off other
    writers (records/db.py `writing_alone`): a server capturing meanwhile took INC-1 between the check and the
    insert, which failed as "unexpected IntegrityError" after earlier batches had been committed."""
    if service.store.count():
        raise PostmortemError(NOT_EMPTY)
    model = service.knowledge.embedder.model_id
    vectors = _embedded(service, incidents)
    with whole_text():  # every text as the backup holds it (read_export)
        held = service.store.restore(
            [
                NewIncident(
                    incident,
                    vector,
                    model,
                    timeline=incident.timeline,
                    analysis=incident.analysis,
                    actions=incident.action_items,
                    keep_id=True,
                )
                for incident, vector in zip(incidents, vectors, strict=True)
            ]
        )
    if held:
        raise PostmortemError(ARRIVED.format(held=counted(held, "incident")))
    service.knowledge.sync()
    return len(incidents)


def _embedded(service: "PostmortemService", incidents: list[Incident]) -> list[Any]:
    """Each incident's vector, embedded a batch at a time."""
    chunks = (incidents[start : start + BATCH] for start in range(0, len(incidents), BATCH))
    return [v for chunk in chunks for v in service.knowledge.embed_documents([i.search_text() for i in chunk])]
