"""Every tool, called with arguments generated from its own input schema: no unhandled exception, no protocol
error, whatever the values (hypothesis through the SDK's in-memory client). The schemas are flat by design, so a
small schema-to-strategy translation covers them; out-of-range and wrong-typed values are mixed in on purpose."""

from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mcp import Client

from agent_postmortem.mcp.server import create_server
from tests.factories import make_service

pytestmark = [pytest.mark.anyio, pytest.mark.slow]
PER_TOOL = 25


NASTY = st.sampled_from(["", "\x00", "\ud800", "INC-99999999999999", "AI-0", "../../etc/passwd", "<script>", "ﾠ" * 300])


def value_for(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    """A strategy for one argument: mostly what the schema allows, sometimes what it forbids."""
    if "anyOf" in schema:
        return st.one_of(*(value_for(s) for s in schema["anyOf"]))
    if "enum" in schema:
        return st.one_of(st.sampled_from(schema["enum"]), NASTY)
    kind = schema.get("type")
    if kind == "string":
        size = min(schema.get("maxLength", 300), 2_000)  # hypothesis draws at most a few thousand characters
        too_long = st.just("x" * (schema["maxLength"] + 1)) if "maxLength" in schema else NASTY
        return st.one_of(st.text(min_size=schema.get("minLength", 0), max_size=size), NASTY, too_long)
    if kind == "integer":
        low, high = schema.get("minimum", -(2**31)), schema.get("maximum", 2**31)
        return st.one_of(st.integers(low, high), st.integers(), NASTY)
    if kind == "number":
        return st.one_of(st.floats(allow_nan=True), st.integers())
    if kind == "boolean":
        return st.one_of(st.booleans(), NASTY)
    if kind == "null":
        return st.none()
    return st.one_of(st.none(), NASTY, st.integers())


def arguments_for(schema: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    properties = schema.get("properties", {})
    required = set(schema.get("required", []))
    return st.fixed_dictionaries(
        {k: value_for(v) for k, v in properties.items() if k in required},
        optional={k: value_for(v) for k, v in properties.items() if k not in required},
    )


def examples(schema: dict[str, Any], n: int) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []

    @settings(max_examples=n, database=None, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
    @given(arguments_for(schema))
    def collect(value: dict[str, Any]) -> None:
        found.append(value)

    collect()
    return found


async def test_every_tool_survives_arguments_generated_from_its_schema(tmp_path: Path) -> None:
    service = make_service(tmp_path, llm=None)
    async with Client(create_server(lambda: service)) as client:
        tools = (await client.list_tools()).tools
        calls = 0
        for tool in tools:
            for arguments in examples(tool.input_schema, PER_TOOL):
                result = await client.call_tool(tool.name, arguments)
                calls += 1
                if result.is_error:
                    text = " ".join(getattr(c, "text", "") for c in result.content)
                    # the SDK's message for an exception the tool did not handle (validation errors carry detail)
                    assert text != f"Error executing tool {tool.name}", (tool.name, arguments)
                    assert "Traceback" not in text
                    assert "../../etc/passwd" not in text and "<script>" not in text  # rejected values not echoed
    assert len(tools) >= 20 and calls >= 20 * PER_TOOL // 2
