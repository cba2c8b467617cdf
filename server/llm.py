"""The LLM behind a one-method protocol, and its OpenAI-compatible implementation.

`OpenAILLM` asks for JSON that follows the output model's schema (`json_schema` structured output,
or `json_object` plus the schema in the prompt for servers without schema support), validates it
with pydantic, and gives the model one repair round with the validation errors before giving up.
Nothing it raises carries the model's raw output or the request, which may hold incident text.
"""

import json
import logging
from typing import Any, Protocol, TypeVar

import openai
from pydantic import BaseModel, ValidationError

from server.errors import DraftError, LLMUnavailable

logger = logging.getLogger(__name__)

T = TypeVar("T", bound=BaseModel)


class LLM(Protocol):
    backend: str
    model: str

    def parse(self, *, system: str, user: str, output: type[T]) -> T:
        """Return an instance of `output` written by the model, or raise DraftError / LLMUnavailable."""
        ...


def strip_fences(text: str) -> str:
    text = text.strip()
    if text.startswith("```"):
        text = text.split("\n", 1)[1] if "\n" in text else ""
        text = text.rsplit("```", 1)[0]
    return text.strip()


def problems(error: Exception) -> str:
    if isinstance(error, ValidationError):
        parts = []
        for e in error.errors(include_input=False, include_url=False)[:12]:
            loc = [str(p) for p in e["loc"]]
            if e["type"] == "extra_forbidden":  # the key itself was written by the model: do not quote it
                parts.append(f"{'.'.join(loc[:-1]) or 'root'}: unexpected key (remove keys not in the schema)")
            else:
                parts.append(f"{'.'.join(loc) or 'root'}: {e['msg']}")
        return "; ".join(parts)
    return str(error)[:300]


def _about_response_format(error: Exception) -> bool:
    """Whether a 400 rejects structured output itself (fall back) rather than something else (give up)."""
    text = f"{getattr(error, 'param', '')} {error}".lower()
    return "response_format" in text or "json_schema" in text


class OpenAILLM:
    """Any OpenAI-compatible chat-completions endpoint (OpenAI, Azure, Ollama, vLLM, llama.cpp, LM Studio)."""

    def __init__(
        self,
        client: openai.OpenAI,
        model: str,
        *,
        backend: str = "openai",
        max_tokens: int = 1500,
        schema_mode: str = "json_schema",
        extra_body: dict[str, Any] | None = None,
    ) -> None:
        self.client = client
        self.model = model
        self.backend = backend
        self.max_tokens = max_tokens
        self.schema_mode = schema_mode
        self.extra_body = extra_body

    def parse(self, *, system: str, user: str, output: type[T]) -> T:
        schema = output.model_json_schema()
        messages: list[dict[str, Any]] = [{"role": "system", "content": system}, {"role": "user", "content": user}]
        content, finish = self._complete(messages, output.__name__, schema)
        try:
            return self._validate(content, finish, output)
        except (ValidationError, ValueError) as first:
            logger.info("draft failed validation, asking for one repair: %s", problems(first))
            if finish == "length":  # resending a cut-off answer only eats the context: ask for a shorter one
                messages.append(
                    {
                        "role": "user",
                        "content": "Your previous answer was too long and was cut off. "
                        "Answer again with the same JSON structure, every text under 25 words.",
                    }
                )
            else:
                messages += [
                    {"role": "assistant", "content": content[:8000]},
                    {
                        "role": "user",
                        "content": "That answer is not valid. Problems: "
                        + problems(first)
                        + "\nReturn the complete corrected JSON object only.",
                    },
                ]
            content, finish = self._complete(messages, output.__name__, schema)
            try:
                return self._validate(content, finish, output)
            except (ValidationError, ValueError) as second:
                raise DraftError(
                    f"the model's answer was not a valid {output.__name__} after one repair round ({problems(second)})"
                ) from None

    def _validate(self, content: str, finish: str | None, output: type[T]) -> T:
        if finish == "length":
            raise ValueError("the answer was cut off at the token limit (finish_reason=length)")
        return output.model_validate_json(strip_fences(content))

    def _complete(self, messages: list[dict[str, Any]], name: str, schema: dict[str, Any]) -> tuple[str, str | None]:
        if self.schema_mode == "json_schema":
            fmt: dict[str, Any] = {
                "type": "json_schema",
                "json_schema": {"name": name, "strict": True, "schema": schema},
            }
            try:
                return self._create(messages, fmt)
            except openai.BadRequestError as e:
                if not _about_response_format(e):
                    raise LLMUnavailable(f"the LLM endpoint answered HTTP 400 (model {self.model})") from None
                logger.warning("endpoint rejected json_schema output; falling back to json_object")
                self.schema_mode = "json_object"
        described = [
            *messages[:-1],
            {
                "role": messages[-1]["role"],
                "content": messages[-1]["content"]
                + "\n\nAnswer with one JSON object that follows this JSON schema:\n"
                + json.dumps(schema),
            },
        ]
        try:
            return self._create(described, {"type": "json_object"})
        except openai.BadRequestError:
            raise LLMUnavailable(
                f"the LLM endpoint rejected the request (HTTP 400) for model {self.model}; check POSTMORTEM_MODEL "
                "and that the endpoint supports JSON output"
            ) from None

    def _create(self, messages: list[dict[str, Any]], fmt: dict[str, Any]) -> tuple[str, str | None]:
        try:
            completion = self.client.chat.completions.create(  # type: ignore[call-overload]
                model=self.model,
                messages=messages,
                response_format=fmt,
                temperature=0,
                seed=0,
                max_tokens=self.max_tokens,
                extra_body=self.extra_body,
            )
        except openai.BadRequestError:
            raise
        except openai.APITimeoutError:
            raise LLMUnavailable(f"the LLM endpoint timed out (model {self.model})") from None
        except openai.APIConnectionError:
            raise LLMUnavailable(f"cannot reach the LLM endpoint (model {self.model}); check OPENAI_BASE_URL") from None
        except openai.AuthenticationError:
            raise LLMUnavailable("the LLM endpoint rejected the API key; check OPENAI_API_KEY") from None
        except openai.APIStatusError as e:
            raise LLMUnavailable(f"the LLM endpoint answered HTTP {e.status_code} (model {self.model})") from None
        if not completion.choices:
            raise DraftError("the LLM endpoint returned no choices")
        choice = completion.choices[0]
        if getattr(choice.message, "refusal", None):
            raise DraftError("the model refused to write the analysis")
        return choice.message.content or "", choice.finish_reason
