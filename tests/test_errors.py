"""The one validation formatter every entry point uses (agent_postmortem.errors.validation_problems)."""

from datetime import datetime

import pytest
from pydantic import BaseModel, ValidationError, field_validator, model_validator

from agent_postmortem.errors import validation_problems


class Whole(BaseModel):
    @model_validator(mode="after")
    def refuse(self) -> "Whole":
        raise ValueError("not an analysis yet: why 1 holds a template placeholder")


class Field(BaseModel):
    title: str

    @field_validator("title")
    @classmethod
    def refuse(cls, value: str) -> str:
        raise ValueError("title names no failure")


def problems(model: type[BaseModel], data: dict[str, object]) -> str:
    with pytest.raises(ValidationError) as raised:
        model.model_validate(data)
    return validation_problems(raised.value)


def test_a_rules_own_sentence_reaches_the_reader_without_pydantics_wrapping() -> None:
    assert problems(Whole, {}) == "not an analysis yet: why 1 holds a template placeholder"
    assert problems(Field, {"title": "x"}) == "title: title names no failure"


def test_a_type_error_names_the_field_and_never_the_value() -> None:
    said = problems(Field, {"title": 12345678})
    assert said.startswith("title: ") and "12345678" not in said


class Event(BaseModel):
    at: datetime


@pytest.mark.parametrize("at", ["2026-12-15T10:00:00+25:00", "next week", "2026-12-15 extra", ["2026"]])
def test_text_that_is_no_time_says_what_a_time_is_not_what_the_parser_met(at: object) -> None:
    """`--due 2026-12-15T10:00:00+25:00` answered "Input should be a valid datetime or date, unexpected extra
    characters at the end of the input": true, and no help in writing one."""
    said = problems(Event, {"at": at})
    assert said == "at: expected an ISO 8601 date or time (2026-12-15 or 2026-12-15T10:00:00Z)", said


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ('{"title": "Refund agent lo', "the JSON is not complete: it stops at line 1, column 26"),
        ('{"title": "x",}', "not valid JSON at line 1, column 15: a comma before a closing bracket"),
        ("{title: 1}", "not valid JSON at line 1, column 2: a key not in double quotes"),
        ('{"title": "x"} and more', "not valid JSON at line 1, column 16: more text after the JSON"),
        ('{"title": "a\nb"}', "not valid JSON at line 2, column 0: a raw control character inside a string (a line"),
        # a colour code pasted from a terminal was said to be "a line break or tab"
        ('{"title": "\x1b[31mred"}', "not valid JSON at line 1, column 12: a raw control character inside a string"),
    ],
    ids=["cut-off", "trailing-comma", "bare-key", "trailing-text", "raw-newline", "raw-escape"],
)
def test_json_that_does_not_parse_is_said_in_plain_words_with_where(text: str, said: str) -> None:
    """A sampled answer cut short was reported as "(record): Invalid JSON: EOF while parsing a string at line 1
    column 86": the parser's words, with a placeholder for a field name."""
    with pytest.raises(ValidationError) as raised:
        Field.model_validate_json(text)
    problem = validation_problems(raised.value)
    assert problem.startswith(said), problem
    assert "Invalid JSON" not in problem and "EOF" not in problem and "(record)" not in problem, problem


def test_a_report_pasted_as_the_title_is_told_where_the_rest_goes() -> None:
    from agent_postmortem.store.models import IncidentCreate

    with pytest.raises(ValidationError) as e:
        IncidentCreate(title="The agent failed. " * 20)
    said = validation_problems(e.value)
    assert said.startswith("title: ") and "at most 200 characters" in said and "the rest goes in description" in said
    assert "The agent failed" not in said  # never the value


class Strict(BaseModel, extra="forbid"):
    title: str


def test_a_key_that_is_a_secret_is_named_redacted() -> None:
    """`capture --file` and `import` name the keys a file has that the format does not take, and named a token used
    as a key whole ('ghp_…: Extra inputs are not permitted'), though the store redacts keys as it redacts values."""
    token = "ghp_" + "1234567890abcdefghijklmnopqrstuvwxyzAB"
    with pytest.raises(ValidationError) as raised:
        Strict.model_validate({"title": "x", token: 1, "tags": 2})
    said = validation_problems(raised.value)
    listed = validation_problems(raised.value, unknown_keys="not fields of the format")
    for text in (said, listed):
        assert token[4:] not in text and "[REDACTED:github_token]" in text and "tags" in text, text


class Run(BaseModel):
    events: list[Event]


def test_a_line_or_an_item_that_is_not_an_object_is_told_so_without_the_models_name() -> None:
    """A JSONL line that is an array (`[1, 2, 3]`), or a step that is a string, read "(record): Input should be a
    valid dictionary or instance of StepRun": the name of a class of this code, which no file or user knows."""
    with pytest.raises(ValidationError) as raised:
        Run.model_validate([1, 2, 3])
    assert validation_problems(raised.value) == "(record): expected a JSON object"
    said = problems(Run, {"events": ["2026-12-01"]})
    assert said == "events.0: expected a JSON object" and "Event" not in said


def test_an_items_count_of_changes_is_said_in_words() -> None:
    """A stale `expected_changes` with nothing to name since was told as "AI-1 has 1 changes, not 5"."""
    from agent_postmortem.errors import ActionItemChanged

    said = str(ActionItemChanged("AI-1", given=5, since=[], now=1))
    assert said.startswith("AI-1 has 1 recorded change, not 5; nothing was changed") and "expected_changes=1" in said
    assert "has 2 recorded changes," in str(ActionItemChanged("AI-1", given=5, since=[], now=2))
