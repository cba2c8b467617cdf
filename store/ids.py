"""Public ids: incidents are INC-<n> and action items AI-<n>, where n is the database key."""

from agent_postmortem.store.errors import InvalidId

INCIDENT_PREFIX = "INC-"
ACTION_PREFIX = "AI-"


def parse_id(value: str, prefix: str, kind: str) -> int:
    text = value.strip().upper()
    if text.startswith(prefix):
        text = text[len(prefix) :]
    if not text.isdigit() or len(text) > 12:
        raise InvalidId(kind, prefix)
    return int(text)


def incident_pk(incident_id: str) -> int:
    return parse_id(incident_id, INCIDENT_PREFIX, "incident")


def to_incident_id(pk: int) -> str:
    return f"{INCIDENT_PREFIX}{pk}"


def action_pk(action_id: str) -> int:
    return parse_id(action_id, ACTION_PREFIX, "action item")


def to_action_id(pk: int) -> str:
    return f"{ACTION_PREFIX}{pk}"
