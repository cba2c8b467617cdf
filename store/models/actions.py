"""Action items: what is to be done about an incident, by whom and when, with every change kept."""

import unicodedata
from collections.abc import Iterable, Sequence
from typing import Annotated

from pydantic import AfterValidator, BaseModel, BeforeValidator, Field, model_validator

from agent_postmortem.store.invisible import something_visible
from agent_postmortem.store.models.fields import DueBy, Medium, Model, Short, When, clean_text
from agent_postmortem.store.vocabulary import ActionStatus, Priority


def no_owner_if_blank(owner: str | None) -> str | None:
    """An empty (or blank) owner is no owner: it is how a change says "unassign", where None says "leave it"."""
    return owner if owner and owner.strip() else None


def owner_key(owner: str) -> str:
    """What owners are told apart by, ignoring case in every script ("Ärne" is "ärne", "Straße" is "STRASSE"): stored
    beside each owner (migration 0014) for the owner filter, and what completion per owner groups by. SQL's lower()
    could not serve: SQLite's folds ASCII letters only, as PostgreSQL's does under the C locale. Runs of white space
    are one space ("Dana  Smith", or a name broken over two lines by a client, is "dana smith": migration 0015), and a
    handle is the name it stands for ("@alice" is "alice", as chat and issue trackers write people: migration 0017).
    """
    key = unicodedata.normalize("NFC", " ".join(owner.split()).casefold())
    return key.lstrip("@").lstrip() or key


NO_OWNER = "(none)"  # the row of the items without an owner, in completion per owner


def by_owner(rows: Iterable[tuple[str | None, int, Sequence[int]]]) -> dict[str, tuple[int, ...]]:
    """Counts per owner, owners told apart by `owner_key` as the owner filter matches them ("Dana" is "dana"), under
    the spelling of the newest item; `rows`: an owner as spelled, how new its newest item is (e.g. its key), and its
    counts (items, completed, overdue). The items without an owner under "(none)". Ordered by owner."""
    groups: dict[str, tuple[int, str, list[int]]] = {}
    for owner, newest, counts in rows:
        key = owner_key(owner) if owner else ""
        seen, spelling, summed = groups.get(key, (newest, owner or NO_OWNER, [0] * len(counts)))
        if newest >= seen:
            seen, spelling = newest, owner or NO_OWNER
        groups[key] = (seen, spelling, [a + b for a, b in zip(summed, counts, strict=True)])
    return {spelling: tuple(summed) for _, (_, spelling, summed) in sorted(groups.items())}


def no_date_if_blank(due: object) -> object:
    """An empty (or blank) due date is no due date: how a change says "take the date off", where None leaves it."""
    return None if isinstance(due, str) and not due.strip() else due


def one_owner(one: object, other: object) -> bool:
    """Whether two owners given for one item are the same owner as the filter reads them ("@sre" and "SRE")."""
    if isinstance(one, str) and isinstance(other, str):
        return owner_key(one) == owner_key(other)
    return one == other


def owner_named(data: object, name: str, other: str) -> object:
    """An item's fields with its owner under `name` when it was sent as `other`: a tracked item's owner is `owner`, a
    proposed one's `owner_role`, and a writer using the other name (an import, record_analysis) was refused with
    "Extra inputs are not permitted" or "Field required". Both names with different owners: ValueError; one owner
    in two spellings ("@sre" and "SRE") keeps `name`'s."""
    if not isinstance(data, dict) or other not in data:
        return data
    given, named = data[other], data.get(name)
    if named not in (None, "") and given not in (None, "") and not one_owner(named, given):
        raise ValueError(f"owner and owner_role name the same field: give one ({name} here)")
    return {**{k: v for k, v in data.items() if k != other}, name: named if named not in (None, "") else given}


class ActionItemCreate(Model):
    title: Annotated[
        str, Field(min_length=3, max_length=300), AfterValidator(clean_text), BeforeValidator(something_visible)
    ]
    owner: Annotated[Short | None, AfterValidator(no_owner_if_blank)] = None
    priority: Priority = "P1"
    due_at: Annotated[DueBy | None, BeforeValidator(no_date_if_blank)] = None
    status: ActionStatus = "open"

    @model_validator(mode="before")
    @classmethod
    def _owner_role(cls, data: object) -> object:
        return owner_named(data, "owner", "owner_role")  # the name an analysis' proposed items give it


class ChangeAuthor(Model):
    """Who changes an action item, as its history keeps it: checked and redacted like every stored text."""

    by: Short | None = None


class ActionItemChange(BaseModel):
    """One change of an item; bounded as its columns are, since a backup's history is read back in by a restore."""

    at: When
    field: Annotated[str, Field(max_length=20, description="created, title, owner, priority, due_at or status")]
    old: Medium | None = None
    new: Medium | None = None
    by: Short | None = None


class ActionItem(ActionItemCreate):
    id: str
    incident_id: str
    created_at: When
    completed_at: When | None = Field(
        default=None, description="when it was completed; null on a completed item: completed on a date not recorded"
    )
    overdue: bool = False
    history: list[ActionItemChange] = Field(
        default_factory=list, description="every change, oldest first (filled when a single item is read)"
    )
