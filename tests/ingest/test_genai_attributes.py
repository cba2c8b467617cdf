"""The helpers the OpenInference, OpenLLMetry and LangSmith readers share: a GenAI attribute is filled only with a
value that says something and never overwritten; an attribute's JSON object is read with the nesting limit."""

from typing import Any

from agent_postmortem.ingest.genai_attributes import NOTHING, fill, json_object
from agent_postmortem.ingest.json_input import MAX_DEPTH


def test_a_genai_attribute_already_there_is_kept_and_an_empty_one_is_filled() -> None:
    out: dict[str, Any] = {"gen_ai.tool.name": "kept", "gen_ai.agent.name": ""}
    fill(out, "gen_ai.tool.name", "other")
    fill(out, "gen_ai.agent.name", "planner")
    assert out == {"gen_ai.tool.name": "kept", "gen_ai.agent.name": "planner"}


def test_a_value_that_says_nothing_fills_nothing_but_zero_and_false_do() -> None:
    out: dict[str, Any] = {}
    for key, value in zip("abc", NOTHING, strict=True):
        fill(out, key, value)
    fill(out, "tokens", 0)
    fill(out, "escaped", False)
    assert out == {"tokens": 0, "escaped": False}


def test_a_reader_can_count_an_empty_object_as_nothing_too() -> None:
    out: dict[str, Any] = {}
    fill(out, "kept", {})
    fill(out, "left", {}, nothing=(*NOTHING, {}))
    assert out == {"kept": {}}


def test_an_attribute_is_read_as_its_json_object_and_anything_else_as_an_empty_one() -> None:
    assert json_object('{"args": [1], "kwargs": {}}') == {"args": [1], "kwargs": {}}
    assert json_object({"already": "parsed"}) == {"already": "parsed"}
    assert json_object("[1, 2]") == {}
    assert json_object("{not json") == {}
    assert json_object(None) == {}


def test_an_attribute_nested_past_the_limit_is_an_empty_object_not_a_recursion_error() -> None:
    assert json_object("[" * (MAX_DEPTH + 50) + "]" * (MAX_DEPTH + 50)) == {}
