"""An analysis written as JSON text (by the MCP client's model or by the assistant), checked before it is parsed and
stored: its length as written, a JSON object in it, the schema and, with its incident, the draft guard."""

import re
from collections.abc import Sequence

from pydantic import ValidationError

from agent_postmortem.analysis.draft_guard import Similarity, guarded
from agent_postmortem.errors import validation_problems
from agent_postmortem.llm.answers import extract_json
from agent_postmortem.store.models import AnalysisDraft, Incident

MAX_ANALYSIS_JSON = 20_000  # characters as written: a \uXXXX escape counts as the one character it stands for
MAX_ANALYSIS_SENT = 6 * MAX_ANALYSIS_JSON  # as sent, every character escaped (json.dumps' default for non-ASCII)
_ESCAPE = re.compile(r"\\u[0-9a-fA-F]{4}")

NO_OBJECT = "it holds no JSON object: answer with the analysis as one JSON object ({...}) that follows the schema"


def draft_problems(
    text: str,
    incident: Incident | None = None,
    similarity: Similarity | None = None,
    neighbours: Sequence[Incident] = (),
) -> str | None:
    """What is wrong with an analysis written as text (the JSON found in it, see `extract_json`), or None; with the
    incident it was written for, also why it is not an analysis of it (analysis/draft_guard.py; with `similarity`
    or the incident's `neighbours`, also whether it is about that incident at all)."""
    if len(text) > MAX_ANALYSIS_SENT or written_length(text) > MAX_ANALYSIS_JSON:
        return f"longer than {MAX_ANALYSIS_JSON} characters; shorten it"
    found = extract_json(text)
    if not found.startswith("{"):
        return NO_OBJECT
    try:
        (AnalysisDraft if incident is None else guarded(incident, similarity, neighbours)).model_validate_json(found)
    except ValidationError as e:
        return validation_problems(e, limit=12, name_keys=False, schema=AnalysisDraft)
    return None


def written_length(text: str) -> int:
    """The length of JSON text as its writer wrote it: an analysis in Chinese sent as `json.dumps` sends it (each
    character a six-character escape) was refused as too long while the same analysis in UTF-8 was stored."""
    return len(_ESCAPE.sub("u", text)) if "\\u" in text else len(text)
