"""What enters the record store and what leaves it.

In: `for_storage` is the one path every record takes before it is written. The record is validated by its model
(again: an instance may have been changed after it was built; a model that checks its text refuses NUL and lone
surrogates here), redacted by `redact_model` (which drops invisible and control characters, trims a field that a
placeholder made longer than its model allows, a stack trace from its start, and a capture's longest texts when
placeholders take it past its total size, so that what is written always validates when read), and any text
that still could not be stored faithfully is refused with a validation error that names the field, never the value.
Nothing is written unless all of that passed.

Out: `load` builds a model from a stored row. A row that no longer validates (written by an older version, restored
from an old export, or edited in the database) is repaired for the reader: NUL and lone surrogates dropped, too-long
text trimmed, too-short text marked, a bad value replaced by its default (a required choice by its first value), a
bad list entry left out. It is logged with the row's id and the fields, never their values, so one bad row cannot
take down a read, a search or a backup. Nothing is written back: reads stay reads. A row that cannot be repaired
(a required value missing that has no default, such as an analysis without a root cause) raises `CorruptRecord`;
lists, timelines and exports leave such a row out, logged, instead of failing.

Whole: the limits of the models are for new input. A store made by an older version holds texts longer than them
(a long reopen note, an item title): within `whole_text()` (a backup's export and restore), such a text is read and
written as it is, not trimmed, so that a backup carries what the store holds and a restore brings it back.
"""

import copy
import json
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from enum import Enum
from typing import Any, Literal, TypeVar, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails, InitErrorDetails

from agent_postmortem.store.errors import CorruptRecord

logger = logging.getLogger(__name__)
M = TypeVar("M", bound=BaseModel)
MAX_REPAIRS = 50  # one fix per round: list entries are dropped one at a time, so their indices stay right
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
REPAIRED_MARK = " [repaired]"
_REPORTED: set[tuple[str, str]] = set()
_WHOLE: ContextVar[bool] = ContextVar("whole_text", default=False)


@contextmanager
def whole_text() -> Iterator[None]:
    """Within it, a text longer than its model allows is read and written whole instead of trimmed or refused."""
    token = _WHOLE.set(True)
    try:
        yield
    finally:
        _WHOLE.reset(token)


def validated(model: type[M], data: Any) -> M:
    """`model.model_validate(data)`; within `whole_text()`, a text longer than its field allows is kept whole (the
    model is built with it trimmed, then given the whole text back: dumped, it is as it was)."""
    if not _WHOLE.get():
        return model.model_validate(data)
    try:
        return model.model_validate(data)  # nearly every row: nothing too long, so nothing to copy and trim
    except ValidationError:
        pass
    data = copy.deepcopy(data)
    kept: list[tuple[tuple[str | int, ...], str]] = []
    for _ in range(MAX_REPAIRS):
        try:
            return _given_back(model.model_validate(data), kept)
        except ValidationError as e:
            errors = e.errors(include_url=False)
            if any(err["type"] != "string_too_long" or slot_of(data, err["loc"]) is None for err in errors):
                raise
            for err in errors:
                container, key = slot_of(data, err["loc"]) or ({}, "")
                kept.append((err["loc"], container[key]))
                container[key] = container[key][: int(err["ctx"]["max_length"])]
    return _given_back(model.model_validate(data), kept)


def slot_of(data: Any, loc: tuple[str | int, ...]) -> tuple[Any, Any] | None:
    """The container and key of the text at `loc` in `data`, or None when the path is not there as written."""
    node: Any = data
    steps: list[tuple[Any, Any]] = []
    key: Any
    for key in loc:
        if (
            isinstance(node, dict)
            and key in node
            or isinstance(node, list)
            and isinstance(key, int)
            and key < len(node)
        ):
            steps.append((node, key))
            node = node[key]
        else:
            return None
    return steps[-1] if steps and isinstance(node, str) else None


def _given_back(model: M, kept: list[tuple[tuple[str | int, ...], str]]) -> M:
    for loc, text in kept:
        node: Any = model
        for key in loc[:-1]:
            node = node[key] if isinstance(key, int) else getattr(node, key)
        if isinstance(loc[-1], int):
            node[loc[-1]] = text
        else:
            setattr(node, loc[-1], text)
    return model


# --- in -------------------------------------------------------------------------------------------


def for_storage(model: M) -> M:
    """The record as it may be written: validated, redacted (and trimmed to its limits), storable text only."""
    from agent_postmortem.store.redact import redact_model  # here: reads (`list`, `show`) need none of its patterns

    checked = validated(type(model), model.model_dump())
    redacted, _ = redact_model(checked)
    bad = [loc for loc, text in _strings(redacted.model_dump(), ()) if _UNSTORABLE.search(text)]
    if bad:
        problem = ValueError("contains a NUL character or an unpaired surrogate")
        raise ValidationError.from_exception_data(
            type(model).__name__,
            [InitErrorDetails(type="value_error", loc=loc, input="", ctx={"error": problem}) for loc in bad],
            hide_input=True,
        )
    return redacted


def _strings(value: Any, loc: tuple[str | int, ...]) -> Iterator[tuple[tuple[str | int, ...], str]]:
    if isinstance(value, str):
        yield loc, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, (*loc, str(key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, (*loc, index))


# --- out ------------------------------------------------------------------------------------------


def stored_json(text: str | bytes) -> Any:
    """A JSON column's stored text decoded, or None when it is not JSON (a row edited in the database, or written
    half): the readers then take the row as damaged (repaired or left out, logged) instead of one row failing a whole
    read, a `show` or a `redact`. The engines decode every JSON column with it (records/db.py, sqlite_reader.py)."""
    try:
        return json.loads(text)
    except ValueError:
        logger.warning("a stored JSON value (%d characters) is not JSON: read as missing", len(text))
        return None


def load(model: type[M], data: dict[str, Any], *, what: str) -> M:
    """The stored row as a model, repaired for reading if it no longer validates (see the module docstring)."""
    fields: set[str] = set()
    if _unstorable(data):
        data, dirty = _cleaned(data)
        fields.update(dirty)
    else:
        try:
            return validated(model, data)
        except ValidationError:
            pass
    data = copy.deepcopy(data)
    for _ in range(MAX_REPAIRS):
        try:
            found = validated(model, data)
        except ValidationError as e:
            error = e.errors(include_url=False)[0]
            fields.add(_path(error["loc"]))
            if not _repair(model, data, error):
                break
            continue
        _report(logging.WARNING, "%s does not validate as stored (%s): read repaired", what, fields)
        return found
    _report(logging.ERROR, "%s does not validate as stored (%s) and cannot be repaired", what, fields)
    raise CorruptRecord(what)


def _report(level: int, message: str, what: str, fields: set[str]) -> None:
    """Log a bad row once per process (it is read again on every search that finds it)."""
    named = ", ".join(sorted(fields))
    if (what, named) in _REPORTED:
        return
    if len(_REPORTED) < 10_000:
        _REPORTED.add((what, named))
    logger.log(level, message, what, named)


def _path(loc: tuple[str | int, ...]) -> str:
    return ".".join(str(p) for p in loc) or "row"


def _unstorable(value: Any) -> bool:
    if isinstance(value, str):
        return _UNSTORABLE.search(value) is not None
    if isinstance(value, dict):
        return any(_unstorable(v) for v in value.values())
    if isinstance(value, list):
        return any(_unstorable(v) for v in value)
    return False


def _cleaned(value: Any, loc: tuple[str | int, ...] = ()) -> tuple[Any, list[str]]:
    """The value with NUL and lone surrogates dropped from every string, and where that changed something."""
    if isinstance(value, str):
        if not _UNSTORABLE.search(value):
            return value, []
        return _UNSTORABLE.sub("", value), [_path(loc)]
    if isinstance(value, dict):
        pairs = [(k, _cleaned(v, (*loc, str(k)))) for k, v in value.items()]
        return {k: v for k, (v, _) in pairs}, [p for _, (_, ps) in pairs for p in ps]
    if isinstance(value, list):
        items = [_cleaned(v, (*loc, i)) for i, v in enumerate(value)]
        return [v for v, _ in items], [p for _, ps in items for p in ps]
    return value, []


def _repair(model: type[BaseModel], data: dict[str, Any], error: ErrorDetails) -> bool:
    """Fix the one problem `error` names in `data`, in place; False when it cannot be fixed."""
    steps: list[tuple[Any, Any]] = []  # (container, key) along the error's path, as far as it exists
    node: Any = data
    key: Any
    for key in error["loc"]:
        if (isinstance(node, dict) and key in node) or (
            isinstance(node, list) and isinstance(key, int) and key < len(node)
        ):
            steps.append((node, key))
            node = node[key]
        else:
            break
    kind, limits = error["type"], error.get("ctx", {})
    if steps and kind == "extra_forbidden":  # a key an older version kept: not part of the record now
        container, key = steps[-1]
        del container[key]
        return True
    if steps and isinstance(node, str) and kind == "string_too_long":
        container, key = steps[-1]
        container[key] = node[: int(limits["max_length"]) - 1] + "…"
        return True
    if steps and isinstance(node, str) and kind == "string_too_short":
        container, key = steps[-1]
        container[key] = (node + REPAIRED_MARK).strip()
        return len(container[key]) >= int(limits["min_length"])
    lists = [(c, k) for c, k in steps if isinstance(c, list)]
    if lists:  # a bad entry of a list: leave it out
        container, key = lists[-1]
        del container[key]
        return True
    top = str(error["loc"][0]) if error["loc"] else ""
    field = model.model_fields.get(top)
    if field is None:
        return False
    if top in data and not field.is_required():
        del data[top]  # its default
        return True
    choices = _choices(field.annotation)
    if choices and data.get(top) not in choices:
        data[top] = choices[0]  # a required choice (triage, severity, category), bad or missing: its first value
        return True
    return False


def _choices(annotation: Any) -> list[Any]:
    if get_origin(annotation) is Literal:
        return list(get_args(annotation))
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return [member.value for member in annotation]
    return []
