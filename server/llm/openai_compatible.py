"""Any OpenAI-compatible chat-completions endpoint as the `openai` backend (and the client of the local one).

`OpenAILLM` asks for JSON that follows the output model's schema (`json_schema` structured output,
or `json_object` plus the schema in the prompt for servers without schema support), validates it
with pydantic, and gives the model one repair round with the validation errors before giving up.
Nothing it raises carries the model's raw output or the request, which may hold incident text.
"""

import json
import logging
from typing import Any

import openai
from pydantic import ValidationError

from agent_postmortem.config import Settings, shown_url
from agent_postmortem.errors import DraftError, LLMFailed, LLMUnavailable
from agent_postmortem.llm.answers import extract_json, problems, repair_request
from agent_postmortem.llm.base import LLM, T
from agent_postmortem.llm.registry import Backend, LLMChoice, time_limit

logger = logging.getLogger(__name__)
TRANSIENT = (408, 409, 429)  # statuses below 500 that say "not now" rather than "not with these settings"


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
        repair: bool = True,
    ) -> None:
        """`repair`: whether an answer that fails validation gets one repair round (a model that never fixes one
        would only spend the time again)."""
        self.client = client
        self.model = model
        self.backend = backend
        self.max_tokens = max_tokens
        self.schema_mode = schema_mode
        self.extra_body = extra_body
        self.repair = repair

    def parse(self, *, system: str, user: str, output: type[T]) -> T:
        schema = output.model_json_schema()
        messages: list[dict[str, Any]] = [{"role": "system", "content": system}, {"role": "user", "content": user}]
        content, finish = self._complete(messages, output.__name__, schema)
        try:
            return self._validate(content, finish, output)
        except (ValidationError, ValueError) as first:
            if not self.repair:
                raise DraftError(
                    f"the model's answer was not a valid {_named(output)} ({problems(first, output)})"
                ) from None
            logger.info("draft failed validation, asking for one repair: %s", problems(first, output))
            repair = {"role": "user", "content": repair_request(problems(first, output), truncated=finish == "length")}
            if finish == "length":  # resending a cut-off answer only eats the context: ask for a shorter one
                messages.append(repair)
            else:
                messages += [{"role": "assistant", "content": content[:8000]}, repair]
            content, finish = self._complete(messages, output.__name__, schema)
            try:
                return self._validate(content, finish, output)
            except (ValidationError, ValueError) as second:
                wrong = problems(second, output)
                raise DraftError(
                    f"the model's answer was not a valid {_named(output)} after one repair round ({wrong})"
                ) from None

    def _validate(self, content: str, finish: str | None, output: type[T]) -> T:
        """The answer's object, validated. One that reached the token limit (finish_reason=length) is kept when its
        JSON is whole and valid (the model wrote it, then ran on), as the MCP sampling path keeps one at maxTokens;
        else it was cut off, and the repair round asks for a shorter one."""
        try:
            if "{" not in content:  # the decoder would only say "expected ident at line 1 column 2"
                raise ValueError("the answer was empty" if not content.strip() else "the answer held no JSON object")
            return output.model_validate_json(extract_json(content))
        except (ValidationError, ValueError):
            if finish == "length":
                raise ValueError("the answer was cut off at the token limit (finish_reason=length)") from None
            raise

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
            completion = self._client().chat.completions.create(  # type: ignore[call-overload]
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
            raise LLMFailed(f"the LLM endpoint timed out (model {self.model})") from None
        except openai.APIConnectionError:
            raise LLMFailed(f"cannot reach the LLM endpoint (model {self.model}); check OPENAI_BASE_URL") from None
        except openai.AuthenticationError:
            raise LLMUnavailable("the LLM endpoint rejected the API key; check OPENAI_API_KEY") from None
        except openai.APIStatusError as e:
            failed = LLMFailed if e.status_code >= 500 or e.status_code in TRANSIENT else LLMUnavailable
            raise failed(f"the LLM endpoint answered HTTP {e.status_code} (model {self.model})") from None
        except (json.JSONDecodeError, UnicodeDecodeError):  # a body that is not JSON (cut off, a page sent as JSON)
            raise self._not_a_completion() from None
        return self._answer_of(completion)

    def _client(self) -> openai.OpenAI:
        """The client for the next request (the local backend's bounds it by what is left of the call's time)."""
        return self.client

    def _answer_of(self, completion: object) -> tuple[str, str | None]:
        """The first choice's text and finish reason, from a body the client did not validate (any JSON)."""
        choices = getattr(completion, "choices", None)
        if not isinstance(choices, list):  # a proxy's HTML page, some other JSON
            raise self._not_a_completion()
        if not choices:
            raise DraftError("the LLM endpoint returned no choices")
        choice = choices[0]
        message = getattr(choice, "message", None)
        content = getattr(message, "content", 0)  # a message without content is no answer: 0 is refused below
        finish = getattr(choice, "finish_reason", None)
        if not isinstance(content, str | None) or not isinstance(finish, str | None):  # a choice of another shape
            raise self._not_a_completion()
        if getattr(message, "refusal", None):
            raise DraftError("the model refused to write the analysis")
        if finish == "content_filter":  # an empty or partial answer: a repair round would meet it again
            raise DraftError("the endpoint's content filter stopped the model's answer; nothing was stored")
        return content or "", finish

    def _not_a_completion(self) -> LLMUnavailable:
        return LLMUnavailable(
            f"the LLM endpoint did not answer with a chat completion (model {self.model}); check OPENAI_BASE_URL "
            "(an OpenAI-compatible server's usually ends in /v1)"
        )


DEFAULT_MODEL = "gpt-4.1-mini"


def _choose(settings: Settings, asked: bool) -> LLMChoice | None:
    """Asked for, or configured (an endpoint or a key): the endpoint at OPENAI_BASE_URL, else OpenAI's."""
    if not (settings.openai_base_url or settings.openai_api_key):
        if not asked:
            return None
        # OpenAI's own endpoint without a key: every draft failed as "cannot reach the LLM endpoint; check
        # OPENAI_BASE_URL" offline, and as a rejected key online, with neither variable set
        raise LLMUnavailable(
            "POSTMORTEM_LLM=openai needs OPENAI_BASE_URL (an OpenAI-compatible server such as Ollama or vLLM) or "
            "OPENAI_API_KEY (OpenAI's own endpoint), and neither is set"
        )
    where = shown_url(settings.openai_base_url) if settings.openai_base_url else "OpenAI"
    return LLMChoice("openai", f"{settings.model or DEFAULT_MODEL} at {where}", low_quality=False)


def _build(settings: Settings) -> LLM:
    client = openai.OpenAI(
        base_url=settings.openai_base_url,
        api_key=settings.openai_api_key or "not-needed",
        timeout=min(settings.llm_timeout, time_limit(settings, "openai")),  # no request outlives its draft
        max_retries=2,
    )
    return OpenAILLM(client, settings.model or DEFAULT_MODEL)


BACKEND = Backend("openai", _choose, _build)


def _named(output: type) -> str:
    """What the model was asked for, in words: "AnalysisDraft" read as the program's, not the user's."""
    words = {
        "AnalysisDraft": "analysis",
        "GuardedDraft": "analysis",
        "CategoryAnswer": "category answer",
        "AttributionAnswer": "attribution",
    }
    return words.get(output.__name__, output.__name__)
