"""Errors raised by the store; the application layer maps them to user-facing messages."""


class StoreError(Exception):
    """Base class for store errors."""


class IncidentNotFound(StoreError):
    def __init__(self, incident_id: str) -> None:
        super().__init__(f"no incident {incident_id!r}")
        self.incident_id = incident_id


class ActionItemNotFound(StoreError):
    def __init__(self, action_id: str) -> None:
        super().__init__(f"no action item {action_id!r}")
        self.action_id = action_id


def an(noun: str) -> str:
    """`noun` with its indefinite article: "an incident", "a pattern" ("an pattern id" was written)."""
    return f"{'an' if noun[:1].lower() in 'aeiou' else 'a'} {noun}"


class InvalidId(StoreError, ValueError):
    def __init__(
        self, kind: str, prefix: str, *, other: str | None = None, several: bool = False, pattern: str | None = None
    ) -> None:
        """`other`: the kind of id the value is instead (an action item id where an incident id goes); `several`:
        the value holds more than one id ("INC-1, INC-2"); `pattern`: the value is this pattern id (PAT-3), whose
        runbook lists its incidents (the CLI, the tools and the web view each say where to find it)."""
        said = f"that is {an(other)} id, not {an(kind)} id" if other else f"that is not a valid {kind} id"
        if several:
            said = f"that is more than one id: give one {kind} id at a time"
        if pattern:  # "not a valid incident id" for PAT-3 did not say what it is; each surface says where to look
            said = f"{pattern} is a pattern id, not {an(kind)} id"
        super().__init__(f"{said} (expected {prefix}<number>)")
        self.kind = kind
        self.prefix = prefix
        self.other = other
        self.several = several
        self.pattern = pattern


class CorruptRecord(StoreError):
    """A stored row that does not validate and cannot be repaired for reading (it is logged, never echoed)."""

    def __init__(self, what: str) -> None:
        super().__init__(f"{what} is damaged in the database and cannot be read; restore it from a backup")
        self.what = what


class IndexBusy(StoreError, RuntimeError):
    """Another process (a server on the same home) owns the vector index, so this one cannot rebuild it."""


class IndexLoading(StoreError):
    """A search waited too long for another thread to load an in-memory index."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"the search index is still loading after {seconds:.0f} s; try again in a minute")


class ReadOnlyStore(StoreError):
    """The data directory cannot be written by this process (mounted read-only, a backup, another user's): reading
    works; a write, or a schema migration, is refused naming the directory."""

    def __init__(self, home: str, *, migrate: bool = False) -> None:
        if migrate:
            what = (
                f"the knowledge base in {home} has an older schema that must be migrated before it can be read, but "
                "the data directory is read-only here; open it once with write access (as its owner, or mounted "
                "read-write) to migrate it"
            )
        else:
            what = (
                f"the data directory {home} is read-only here: reading works, but this writes to it; make it "
                "writable (or run as its owner), or set POSTMORTEM_HOME to a directory you can write"
            )
        super().__init__(what)
        self.home = home


class StoreBusy(StoreError):
    """A record kept changing under a write (other writers won every round); nothing was written."""


class ForeignSchema(StoreError):
    """The PostgreSQL session's search_path, set outside the database URL (PGOPTIONS, a default of the role), selects
    a schema other than the store's: its tables would be created in, and read from, another schema (another team's)."""

    def __init__(self, *, expected: str, found: str | None, search_path: str) -> None:
        selects = f"selects the schema {found}" if found else "selects no schema that exists"
        super().__init__(
            f"the database session's search_path ({search_path}) {selects}, not {expected}, where this store keeps "
            "its tables; nothing was read or written. It was set outside POSTMORTEM_DATABASE_URL: by PGOPTIONS in "
            "the environment (unset it, or take search_path out of it), by a default of the database role (ALTER "
            "ROLE <role> RESET search_path), or by a schema named after the role, which the default search_path "
            "puts first; then try again"
        )
        self.expected, self.found = expected, found
