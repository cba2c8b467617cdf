"""OpenAILLM through the real `openai` client against a scripted fake server: the strict JSON schema request,
the one repair round, how HTTP and transport failures are told, and where the JSON is found in an answer."""

import json
import logging
import socket
import traceback

import openai
import pytest

from agent_postmortem.errors import DraftError, LLMFailed, LLMUnavailable
from agent_postmortem.llm.answers import extract_json
from agent_postmortem.llm.openai_compatible import OpenAILLM
from agent_postmortem.store.models import AnalysisDraft
from tests.fake_openai import FakeOpenAI
from tests.llm.scripted import CANARY, GOOD, INVALID, SYSTEM, USER, VALID, draft


def test_a_valid_answer_is_parsed_from_a_strict_json_schema_request_at_temperature_0(
    fake: FakeOpenAI, client: openai.OpenAI
) -> None:
    fake.enqueue(VALID)
    assert draft(OpenAILLM(client, "fake")) == AnalysisDraft.model_validate(GOOD)
    [request] = fake.requests
    assert request["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "AnalysisDraft", "strict": True, "schema": AnalysisDraft.model_json_schema()},
    }
    assert request["temperature"] == 0
    assert request["model"] == "fake"
    assert request["messages"] == [{"role": "system", "content": SYSTEM}, {"role": "user", "content": USER}]
    assert "tools" not in request and "functions" not in request  # the drafting call can call nothing


def test_an_invalid_answer_gets_one_repair_round_that_names_the_problem_fields(
    fake: FakeOpenAI, client: openai.OpenAI
) -> None:
    fake.enqueue(INVALID)
    fake.enqueue(VALID)
    assert draft(OpenAILLM(client, "fake")) == AnalysisDraft.model_validate(GOOD)
    assert len(fake.requests) == 2
    *history, repair = fake.requests[1]["messages"]
    assert history[-1] == {"role": "assistant", "content": INVALID}
    assert repair["role"] == "user"
    assert "whys" in repair["content"] and "action_items.0.priority" in repair["content"]


def test_two_invalid_answers_raise_a_draft_error_that_never_quotes_the_answer(
    fake: FakeOpenAI, client: openai.OpenAI, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    fake.enqueue(f"Sure! {CANARY} here is your analysis")
    fake.enqueue(json.dumps({**GOOD, "root_cause": CANARY * 30, "determinism": CANARY}))
    with pytest.raises(DraftError, match="not a valid analysis after one repair round") as caught:
        draft(OpenAILLM(client, "fake"))
    assert len(fake.requests) == 2
    assert "root_cause" in str(caught.value) and "determinism" in str(caught.value)
    assert CANARY not in "".join(traceback.format_exception(caught.value))
    assert CANARY not in caplog.text


@pytest.mark.parametrize(
    ("answers", "said"),
    [(["I cannot help with that."] * 2, "the answer held no JSON object"), (["", " "], "the answer was empty")],
    ids=["prose", "empty"],
)
def test_an_answer_with_no_json_says_so_to_the_model_and_the_user(
    fake: FakeOpenAI, client: openai.OpenAI, answers: list[str], said: str
) -> None:
    """Prose or nothing at all from the model was reported as "(record): Invalid JSON: expected ident at line 1
    column 2" (or "EOF while parsing a value"), in the repair request too: neither the user nor the model could tell
    that no JSON had been given."""
    for answer in answers:
        fake.enqueue(answer)
    with pytest.raises(DraftError, match=f"after one repair round \\({said}\\)$"):
        draft(OpenAILLM(client, "fake"))
    assert said in json.dumps(fake.requests[1]["messages"][-1])


@pytest.mark.parametrize("content", [VALID[:120], VALID[:-1], ""], ids=["truncated-json", "last-brace-cut", "empty"])
def test_an_answer_cut_off_at_the_token_limit_is_invalid_and_gets_a_repair_round(
    fake: FakeOpenAI, client: openai.OpenAI, content: str
) -> None:
    fake.enqueue(content, finish_reason="length")
    fake.enqueue(VALID)
    assert draft(OpenAILLM(client, "fake")) == AnalysisDraft.model_validate(GOOD)
    assert len(fake.requests) == 2
    *history, repair = fake.requests[1]["messages"]
    assert [m["role"] for m in history] == ["system", "user"]  # the cut-off answer is not sent back
    assert repair["role"] == "user" and "cut off" in repair["content"]


@pytest.mark.parametrize(
    "content",
    [VALID, f"```json\n{VALID}\n```\nSome notes on why each of these whys holds, and"],
    ids=["bare", "then-prose"],
)
def test_a_whole_valid_analysis_is_kept_when_the_model_ran_on_to_its_token_limit_after_it(
    fake: FakeOpenAI, client: openai.OpenAI, content: str
) -> None:
    """An answer with finish_reason=length whose JSON was whole and valid (the model wrote the analysis, then ran on,
    or stopped right at the limit) was refused as "cut off at the token limit": a repair round asked for the same
    analysis again, and a second such answer failed the draft. The MCP sampling path already kept it (maxTokens)."""
    fake.enqueue(content, finish_reason="length")
    assert draft(OpenAILLM(client, "fake")) == AnalysisDraft.model_validate(GOOD)
    assert len(fake.requests) == 1


def test_http_400_to_json_schema_falls_back_to_json_object_with_the_schema_in_the_prompt_for_good(
    fake: FakeOpenAI, client: openai.OpenAI
) -> None:
    llm = OpenAILLM(client, "fake")
    fake.enqueue(status=400, error="response_format json_schema is not supported by this server")
    fake.enqueue(VALID)
    assert draft(llm) == AnalysisDraft.model_validate(GOOD)
    rejected, fallback = fake.requests
    assert rejected["response_format"]["type"] == "json_schema"
    assert fallback["response_format"] == {"type": "json_object"}
    assert fallback["messages"][0] == {"role": "system", "content": SYSTEM}
    last = fallback["messages"][-1]
    assert last["role"] == "user" and last["content"].startswith(USER)
    assert last["content"].endswith(json.dumps(AnalysisDraft.model_json_schema()))

    fake.enqueue(VALID)
    assert draft(llm) == AnalysisDraft.model_validate(GOOD)
    assert len(fake.requests) == 3
    assert fake.requests[2]["response_format"] == {"type": "json_object"}


@pytest.mark.parametrize("status", [500, 503, 429])
def test_a_server_error_raises_llm_failed_naming_the_http_status(
    fake: FakeOpenAI, client: openai.OpenAI, status: int
) -> None:
    fake.enqueue(status=status)
    with pytest.raises(LLMFailed, match=f"HTTP {status}"):  # an LLMUnavailable that is no setting to fix
        draft(OpenAILLM(client, "fake"))
    assert len(fake.requests) == 1


@pytest.mark.parametrize("status", [401, 403, 404])
def test_an_endpoint_refusing_the_settings_raises_llm_unavailable_not_failed(
    fake: FakeOpenAI, client: openai.OpenAI, status: int
) -> None:
    fake.enqueue(status=status)
    with pytest.raises(LLMUnavailable) as raised:
        draft(OpenAILLM(client, "fake"))
    assert not isinstance(raised.value, LLMFailed)


def test_a_rejected_api_key_raises_llm_unavailable_naming_the_api_key(fake: FakeOpenAI, client: openai.OpenAI) -> None:
    fake.enqueue(status=401)
    with pytest.raises(LLMUnavailable, match="API key"):
        draft(OpenAILLM(client, "fake"))


def test_a_server_slower_than_the_client_timeout_raises_llm_failed_timed_out(fake: FakeOpenAI) -> None:
    fake.enqueue(VALID, delay=1.5)
    with openai.OpenAI(base_url=fake.base_url, api_key="test", max_retries=0, timeout=0.3) as slow:
        with pytest.raises(LLMFailed, match="timed out"):
            draft(OpenAILLM(slow, "fake"))


@pytest.mark.parametrize(
    "body",
    [
        '{"id": "chatcmpl-1", "choices": [{"message": ',  # cut off mid-body
        "<html><body>Sign in</body></html>",  # a proxy's page, sent as JSON
        '{"choices": [1]}',
        '{"choices": [null]}',
        '{"choices": [{"message": "the analysis", "finish_reason": "stop"}]}',
        '{"choices": [{"message": null, "finish_reason": "stop"}]}',
        '{"choices": [{"message": {"content": 5}, "finish_reason": "stop"}]}',
        '{"choices": [{"message": {"content": ["x"]}, "finish_reason": 7}]}',
    ],
)
def test_a_body_that_is_not_a_chat_completion_raises_llm_unavailable_without_a_repair_round(
    fake: FakeOpenAI, client: openai.OpenAI, body: str
) -> None:
    """A body that was not JSON ended the draft with the decoder's "Expecting value: line 1 column 38" (exit 2 from
    the CLI, "Error executing tool" over MCP), and a completion of another shape with "unexpected AttributeError"."""
    fake.enqueue(raw=body)
    with pytest.raises(LLMUnavailable, match="did not answer with a chat completion .*OPENAI_BASE_URL"):
        draft(OpenAILLM(client, "fake"))
    assert len(fake.requests) == 1


def test_a_closed_port_raises_llm_failed() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="test", max_retries=0, timeout=2) as c:
        with pytest.raises(LLMFailed, match="cannot reach the LLM endpoint"):
            draft(OpenAILLM(c, "fake"))


def test_code_fenced_json_is_accepted(fake: FakeOpenAI, client: openai.OpenAI) -> None:
    fake.enqueue(f"```json\n{VALID}\n```")
    assert draft(OpenAILLM(client, "fake")) == AnalysisDraft.model_validate(GOOD)
    assert len(fake.requests) == 1


def test_json_among_prose_is_accepted(fake: FakeOpenAI, client: openai.OpenAI) -> None:
    fake.enqueue(f"Here is the analysis you asked for: {VALID}\nThe format is {{}} as required.")
    assert draft(OpenAILLM(client, "fake")) == AnalysisDraft.model_validate(GOOD)
    assert len(fake.requests) == 1


def test_a_json_schema_repeated_before_the_answer_is_not_taken_for_it(fake: FakeOpenAI, client: openai.OpenAI) -> None:
    """A model that restated the schema it was given, unfenced, before its analysis had the schema (the longest
    object) validated as its answer: "unexpected key" for $defs, every field missing, and a wasted repair round."""
    schema = json.dumps(AnalysisDraft.model_json_schema())
    fake.enqueue(f"The analysis must follow {schema}. Here it is: {VALID}")
    assert draft(OpenAILLM(client, "fake")) == AnalysisDraft.model_validate(GOOD)
    assert len(fake.requests) == 1


@pytest.mark.parametrize(
    ("answer", "found"),
    [
        ('{"a": 1}', '{"a": 1}'),
        ('Here is the analysis:\n```json\n{"a": {"b": 2}}\n```\nThanks!', '{"a": {"b": 2}}'),
        ('```\n{"a": 1}\n```', '{"a": 1}'),
        # a fence quoted inside the fenced object's strings ends the fence's text, not the object
        ('```json\n{"why": "sent {} then ``` fences"}\n```', '{"why": "sent {} then ``` fences"}'),
        ('Use {} or {the} fields: {"whys": [1, 2]} done, also {"z": 1}', '{"whys": [1, 2]}'),
        ('prefix {"a": "}"} suffix', '{"a": "}"}'),
        ('{"whys": [{"q": 1}, {"q": 2', '{"whys": [{"q": 1}, {"q": 2'),  # cut off: the validator says so
        ('{"whys": [{"q": 1},], "r": "}", "f": [{"z": 2}]}', '{"whys": [{"q": 1},], "r": "}", "f": [{"z": 2}]}'),
        ('Sure {the analysis}: {"a": 1}', '{"a": 1}'),
        ("no JSON at all", "no JSON at all"),
    ],
)
def test_the_json_object_is_found_wherever_it_sits_in_an_answer(answer: str, found: str) -> None:
    assert extract_json(answer) == found


@pytest.mark.parametrize("mode", ["json_object", "json_schema"])
def test_an_http_400_that_survives_the_fallback_raises_llm_unavailable_naming_http_400(
    fake: FakeOpenAI, client: openai.OpenAI, mode: str
) -> None:
    fake.enqueue(status=400, error="'response_format' of type 'json_schema' is not supported")
    fake.enqueue(status=400)
    with pytest.raises(LLMUnavailable, match="HTTP 400"):
        draft(OpenAILLM(client, "fake", schema_mode=mode))
    assert fake.requests[-1]["response_format"] == {"type": "json_object"}


def test_an_http_400_for_another_reason_keeps_schema_enforcement(fake: FakeOpenAI, client: openai.OpenAI) -> None:
    llm = OpenAILLM(client, "fake")
    fake.enqueue(status=400, error="This model's maximum context length is 8192 tokens")
    with pytest.raises(LLMUnavailable, match="HTTP 400"):
        draft(llm)
    assert llm.schema_mode == "json_schema" and len(fake.requests) == 1


def test_unexpected_keys_invented_by_the_model_are_not_quoted_in_errors(
    fake: FakeOpenAI, client: openai.OpenAI
) -> None:
    invented = json.dumps({**GOOD, "CANARY-secret@example.com": 1})
    fake.enqueue(invented)
    fake.enqueue(invented)
    with pytest.raises(DraftError) as caught:
        draft(OpenAILLM(client, "fake"))
    assert "CANARY" not in str(caught.value) and "unexpected key" in str(caught.value)
    assert "CANARY" not in fake.requests[1]["messages"][-1]["content"]
