"""A command releases what it built when it ends: its service's database connections and the vector index's lock,
which the next command in the same process (a test, a plugin's caller, an embedding application) may need."""

import gc
from collections.abc import Callable
from typing import Any


def test_a_second_command_in_one_process_takes_the_index_the_first_let_go(
    cli: Callable[..., Any], embedder: object
) -> None:
    """A command's service was freed only when the garbage collector found it in a reference cycle: until then it
    kept the index's lock, and the next `reindex` in the same process was refused ("the vector index is owned by
    another service in this process")."""
    was_enabled = gc.isenabled()
    gc.disable()  # nothing frees a service but the command itself
    try:
        assert cli("capture", "--title", "Fares API returned 429 Too Many Requests", "--json").exit_code == 0
        first = cli("reindex", "--json")
        assert first.exit_code == 0, first.stderr
        again = cli("reindex", "--json")
        assert again.exit_code == 0 and "owned by another" not in again.stderr, again.stderr
        assert cli("actions", "--incident", "INC-1", "--add", "Retry with jittered backoff", "--json").exit_code == 0
        assert cli("reindex", "--json").exit_code == 0
    finally:
        if was_enabled:
            gc.enable()
