"""Public ids: incidents are INC-<n> and action items AI-<n>, where n is the database key; a recurring pattern is
PAT-<n>, n the key of its oldest incident."""

import re

from agent_postmortem.store.errors import InvalidId

INCIDENT_PREFIX = "INC-"
ACTION_PREFIX = "AI-"
PATTERN_PREFIX = "PAT-"
PATTERN_ID = re.compile(r"PAT-[1-9][0-9]{0,9}")  # a well-formed pattern id, safe to name back when it is no pattern


KINDS = {INCIDENT_PREFIX: "incident", ACTION_PREFIX: "action item"}


def written_id(value: str) -> str:
    """`value` as an id is read: upper case, without characters no one sees, typographic dashes as "-", and in the
    other forms a model writes an id in prose (`INC 42`, `INC42`, `#42`, `incident 42`, `` `INC-42` ``, `**INC-42**`,
    `"INC-42".`) as `INC-42` (or `42`); the same for `AI-7` and `PAT-3` (`pattern 3`, `pat3`); anything else is left
    as given, to be refused."""
    given = value.strip().upper()
    if not given.isascii():
        from agent_postmortem.store.invisible import strip_invisible

        given = strip_invisible(given)[0].translate(_DASHES).strip()
    if (link := _LINK.fullmatch(given)) is not None:  # as the reports and runbooks link it: [PAT-3](runbook://PAT-3)
        given = link["text"]
    return _in_prose(given) or given


# An id as a model writes it in prose: quoted, in backticks or bold, after "incident" or "#", with a space, an
# underscore or nothing for the dash, a full stop after it. Digits are ASCII only, and one dash at most ("INC--42").
# "PATTERN" is a prefix as well as a word ("pattern-3", as "PAT-3").
_PROSE = re.compile(
    r"""[\s"'`*_(\[<]*
    (?:(?P<word>INCIDENT|ACTION[ _-]?ITEM|PATTERN)(?:\s*[:#]?\s*|(?=\d)))?
    (?:(?P<prefix>INC|AI|PAT(?:TERN)?)(?:[-_ ]?\#?\s?))?
    \#?(?P<number>[0-9]{1,12})
    [\s"'`*_)\]>.,;:!?]*""",
    re.VERBOSE,
)
_LINK = re.compile(r"\s*\[(?P<text>[^\[\]]{1,40})\]\((?:[A-Z][A-Z-]*://)?(?P=text)\)\s*")
_ANY_ID = re.compile(r"\b(INC|AI)[-_ ]?([0-9]{1,12})\b")  # ids in a value that is not one: "INC-1, INC-2"
_HASHED = re.compile(r"[\s\W]*#\s?[0-9]+[\s\W]*")
_WORDS = {"INCIDENT": "INC", "PATTERN": "PAT"} | {f"ACTION{dash}ITEM": "AI" for dash in ("", " ", "-", "_")}


def _in_prose(given: str) -> str | None:
    if (m := _PROSE.fullmatch(given)) is None:
        return None
    word, prefix = _WORDS.get(m["word"] or ""), _WORDS.get(m["prefix"] or "", m["prefix"])
    if word and prefix and word != prefix:  # "incident AI-7", "pattern INC-3": neither reading is safe
        return None
    kind = prefix or word
    return f"{kind}-{m['number']}" if kind else m["number"]


def is_incident_id(value: str) -> bool:
    """Whether `value` is an incident id as written (`INC-42`, `inc‑42`, `incident 42`, `#42`), not a bare number."""
    given = written_id(value)
    if _HASHED.fullmatch(value) and _number(given):  # "#42" names an issue, where "42" may be a count or a status
        return True
    return given.startswith(INCIDENT_PREFIX) and _number(given.removeprefix(INCIDENT_PREFIX))


def parse_id(value: str, prefix: str, kind: str) -> int:
    """The key of `INC-42` (or `42`); ASCII digits only: `str.isdigit` also holds for '²' and '①', which `int`
    refuses (a bare "Error executing tool" and a traceback in the log). An id copied with characters no one sees
    (a right-to-left mark from the text around it, a zero-width space) or written with a typographic dash
    (`INC‑42`, the non-breaking hyphen some models write) is that id: it was refused as "not a valid incident id",
    which the model could not see the reason for."""
    given = written_id(value)
    text = given.removeprefix(prefix)
    if not _number(text):
        other = [k for p, k in KINDS.items() if p != prefix and given.startswith(p) and _number(given[len(p) :])]
        several = len(_ANY_ID.findall(given)) > 1
        if PATTERN_ID.fullmatch(given) and prefix != PATTERN_PREFIX:
            raise InvalidId(kind, prefix, other="pattern", pattern=given)
        raise InvalidId(kind, prefix, other=other[0] if other else None, several=several)
    return int(text)


_DASHES = str.maketrans(dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2212\ufe63\uff0d", "-"))


def _number(text: str) -> bool:
    return text.isascii() and text.isdigit() and len(text) <= 12


def incident_pk(incident_id: str) -> int:
    return parse_id(incident_id, INCIDENT_PREFIX, "incident")


def to_incident_id(pk: int) -> str:
    return f"{INCIDENT_PREFIX}{pk}"


def action_pk(action_id: str) -> int:
    return parse_id(action_id, ACTION_PREFIX, "action item")


def to_action_id(pk: int) -> str:
    return f"{ACTION_PREFIX}{pk}"


def to_pattern_id(pk: int) -> str:
    return f"{PATTERN_PREFIX}{pk}"


def incident_ids_in(text: str) -> list[str]:
    """The incident ids written inside a text ("what happened in inc‑27?"), in order, each once."""
    found = _ANY_ID.findall(text.upper().translate(_DASHES))
    return list(dict.fromkeys(to_incident_id(int(number)) for kind, number in found if kind == "INC"))
