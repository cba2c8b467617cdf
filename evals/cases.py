"""Eval cases for draft quality: one folder per case (`evals/cases/<nn_neutral_slug>/case.yaml`), validated here.

A case is the incident as a drafter would see it (no answer in it), the reference analysis a person wrote, and
what a good draft must and must not say. Folder names are neutral: they never hint at the answer.
"""

from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agent_postmortem.errors import validation_problems
from agent_postmortem.store.models import CategoryName, Determinism, EventKind

CASES_DIR = Path(__file__).parent / "cases"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)


class CaseEvent(Strict):
    at: str = Field(description="ISO 8601 time")
    kind: EventKind = "note"
    description: Annotated[str, Field(min_length=1, max_length=2_000)]


class CaseIncident(Strict):
    """What the drafter is given: the capture fields and the timeline."""

    title: Annotated[str, Field(min_length=3, max_length=200)]
    description: Annotated[str, Field(max_length=20_000)] = ""
    category: CategoryName
    severity: Literal["SEV1", "SEV2", "SEV3", "SEV4"] | None = None
    error_type: str | None = None
    error_message: str | None = None
    agent: str | None = None
    tool: str | None = None
    tool_args: str | None = None
    model: str | None = None
    prompt_excerpt: str | None = None
    environment: str | None = None
    user_facing: bool = False
    customer_reported: bool = False
    impact: str | None = None
    occurred_at: str | None = None
    timeline: Annotated[list[CaseEvent], Field(max_length=200)] = Field(default_factory=list)


class Reference(Strict):
    """The analysis a person wrote: what the draft is compared with."""

    root_cause: Annotated[str, Field(min_length=10, max_length=2_000)]
    contributing_factors: list[str] = Field(default_factory=list)
    action_items: list[str] = Field(default_factory=list, description="none for traces: their dataset has none")
    determinism: Determinism = "unknown"
    responsible_agent: str | None = Field(default=None, description="multi-agent traces: the agent at fault")
    decisive_step: int | None = Field(default=None, description="multi-agent traces: the step where it went wrong")


class Expectations(Strict):
    """Checks on the draft's text. Each `must_mention` entry is a list of alternatives: any one satisfies it."""

    must_mention: list[Annotated[list[str], Field(min_length=1)]] = Field(default_factory=list)
    must_not_say: list[str] = Field(default_factory=list)


class Case(Strict):
    kind: Literal["agent", "postmortem", "trace"]
    source: str = Field(description="'team' for cases written for this project, else the dataset and its licence")
    source_url: str | None = None
    incident: CaseIncident
    reference: Reference
    expect: Expectations = Field(default_factory=Expectations)


class LoadedCase(BaseModel):
    name: str
    case: Case


class CaseFileError(ValueError):
    pass


def load_case(folder: Path) -> LoadedCase:
    path = folder / "case.yaml"
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        return LoadedCase(name=folder.name, case=Case.model_validate(data))
    except OSError as e:
        raise CaseFileError(f"{path}: {e.strerror}") from None
    except yaml.YAMLError as e:
        raise CaseFileError(f"{path}: not valid YAML ({e})") from None
    except ValidationError as e:
        raise CaseFileError(f"{path}: {validation_problems(e)}") from None


def load_cases(pattern: str = "*", root: Path = CASES_DIR) -> list[LoadedCase]:
    """Every case whose folder name matches the glob, in name order."""
    return [load_case(folder) for folder in sorted(root.glob(pattern)) if (folder / "case.yaml").is_file()]
