"""Planted secrets: distinct secrets and personal data of every format the redactor claims, sent in every field of
every way in (each MCP tool that writes, over HTTP; the CLI; JSONL import and restore; OTLP over HTTP and from a
file; multi-agent step runs; the SDK as its own process, locally and to the server), are found raw nowhere after:
not in any column of any table (walked from sqlite_master, so a new table cannot be forgotten), nor in any file of
the home (the database and its WAL, the chromadb directory, caches). Change authors (`by`) were stored raw, and
idempotency keys were stored as redacted text; both went unnoticed until every column was looked at.

Here: where to look, and the test; the secrets are made in planted.py and planted in ways_in.py."""

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from agent_postmortem.store.search.embedding import Embedder
from tests.factories import make_service
from tests.http_server import serving
from tests.processes import cli
from tests.system.planted import Planted, export_line, otlp_request
from tests.system.ways_in import Sampler, plant_through_every_tool, plant_through_the_cli, run_sdk

pytestmark = [pytest.mark.anyio, pytest.mark.slow]


# --- where to look ---------------------------------------------------------------------------------


def stored_texts(database: Path) -> Iterator[tuple[str, str]]:
    """(table.column, text) for every value of every column of every table, and every string inside JSON."""
    with sqlite3.connect(database) as conn:
        tables = [name for (name,) in conn.execute("select name from sqlite_master where type = 'table'")]
        for table in tables:
            cursor = conn.execute(f'select * from "{table}"')
            columns = [d[0] for d in cursor.description]
            for row in cursor:
                for column, value in zip(columns, row, strict=True):
                    for text in _texts(value):
                        yield f"{table}.{column}", text


def _texts(value: Any) -> Iterator[str]:
    if isinstance(value, bytes):
        yield value.decode("latin-1")
    elif isinstance(value, str):
        yield value
        try:
            parsed = json.loads(value)
        except ValueError:
            return
        yield from _strings(parsed)


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def raw_in_columns(p: Planted, database: Path) -> list[str]:
    texts = list(stored_texts(database))
    return sorted(
        {
            f"{where} ({kind}) -> {column}"
            for where, kind, parts in p.values
            for column, t in texts
            for v in parts
            if v in t
        }
    )


def raw_in_files(p: Planted, home: Path) -> list[str]:
    found = set()
    for path in (f for f in home.rglob("*") if f.is_file()):
        data = path.read_bytes()
        for where, kind, parts in p.values:
            forms = {f for v in parts for f in (v, json.dumps(v)[1:-1], json.dumps(v, ensure_ascii=False)[1:-1])}
            if any(form.encode("utf-8") in data for form in forms):
                found.add(f"{where} ({kind}) -> {path.relative_to(home)}")
    return sorted(found)


# --- the test --------------------------------------------------------------------------------------


async def test_secrets_planted_through_every_way_in_are_found_raw_nowhere(tmp_path: Path, embedder: Embedder) -> None:
    home, p = tmp_path / "home", Planted()
    service = make_service(home, embedder=embedder)
    try:
        with serving(service, token=None) as url:
            async with Client(f"{url}/mcp", sampling_callback=Sampler(p)) as client:
                await plant_through_every_tool(client, p)
            import httpx

            trace = otlp_request(p, "OTLP/HTTP", "6bf92f3577b34da6a3ce929d0e0e4736")
            posted = httpx.post(f"{url}/v1/traces", json=trace, timeout=120)
            assert posted.status_code == 200 and posted.json() == {"partialSuccess": {}}, posted.text
            run_sdk(p, tmp_path, home, f"{url}/mcp")
            run_sdk(p, tmp_path, home, None)
            plant_through_the_cli(p, tmp_path, home)
    finally:
        service.knowledge.release_index()
        service.store.engine.dispose()
    (tmp_path / "backup.jsonl").write_text(export_line(p) + "\n", encoding="utf-8")
    restored = cli(tmp_path / "restored", "import", str(tmp_path / "backup.jsonl"))
    assert restored.returncode == 0, restored.stderr

    counts = {t: n for t, n in _counts(home / "postmortem.db").items() if n}
    assert counts["incidents"] >= 11 and counts["action_item_changes"] >= 5 and counts["idempotency_keys"] >= 5
    assert counts["analyses"] >= 4 and len(p.values) > 300
    assert raw_in_columns(p, home / "postmortem.db") == []
    assert raw_in_columns(p, tmp_path / "restored" / "postmortem.db") == []
    assert raw_in_files(p, home) == [] and raw_in_files(p, tmp_path / "restored") == []


def _counts(database: Path) -> dict[str, int]:
    with sqlite3.connect(database) as conn:
        tables = [name for (name,) in conn.execute("select name from sqlite_master where type = 'table'")]
        return {t: int(conn.execute(f'select count(*) from "{t}"').fetchone()[0]) for t in tables}
