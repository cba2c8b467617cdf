"""The one validation formatter every entry point uses (agent_postmortem.errors.validation_problems)."""

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
