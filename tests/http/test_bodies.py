"""What reaches /mcp as a body or as credentials, as clients nobody here wrote send it: each mistake is a JSON-RPC
error an MCP client shows, and nothing the client sent is quoted back."""

import json

import httpx

from agent_postmortem.service.facade import PostmortemService
from tests.http.mcp_requests import AUTH, HEADERS, INIT, TOKEN
from tests.http_server import serving


def test_a_batch_is_refused_saying_so_without_quoting_it_back(service: PostmortemService) -> None:
    """A JSON array got the SDK's -32602 with pydantic's dump of the whole array, a secret in it included."""
    batch = [INIT, {"jsonrpc": "2.0", "id": 2, "method": "tools/list", "params": {"key": "sk-live-planted-0123"}}]
    with serving(service) as url:
        answer = httpx.post(f"{url}/mcp", content=json.dumps(batch), headers=HEADERS | AUTH)
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["code"] == -32600 and error["message"].startswith("Batches are not supported: send one JSON-RPC")
    assert "sk-live" not in answer.text and "initialize" not in answer.text


def test_a_message_that_is_not_json_rpc_2_or_a_request_with_an_unusable_id_is_refused_in_one_sentence(
    service: PostmortemService,
) -> None:
    """A message that is no JSON-RPC 2.0 message (no `"jsonrpc": "2.0"`, params as text) got the SDK's -32602 with
    pydantic's dump ("6 validation errors for union[JSONRPCRequest, ...]"), its values quoted; one whose id is null,
    fractional, true or an object was taken for a notification: 202 and no answer ever, the client waiting on it.
    Each is -32600 saying what to send."""
    secret = "sk-live-planted-0123"
    sent = [
        {"jsonrpc": "1.0", "id": 3, "method": "tools/list", "params": {"key": secret}},
        {"id": 4, "method": "tools/list", "params": {"key": secret}},
        {"jsonrpc": "2.0", "id": 5, "method": "tools/call", "params": secret},
        {"jsonrpc": "2.0", "id": 6, "result": secret, "method": 7},
        secret,
        *(
            {"jsonrpc": "2.0", "id": bad, "method": "tools/list", "params": {"key": secret}}
            for bad in (None, 1.5, True)
        ),
        {"jsonrpc": "2.0", "id": {"n": secret}, "method": "tools/list"},
    ]
    with serving(service) as url:
        answers = [httpx.post(f"{url}/mcp", content=json.dumps(body), headers=HEADERS | AUTH) for body in sent]
        notified = httpx.post(
            f"{url}/mcp", json={"jsonrpc": "2.0", "method": "notifications/initialized"}, headers=HEADERS | AUTH
        )
    for body, answer in zip(sent, answers, strict=True):
        error = answer.json()["error"]
        assert answer.status_code == 400 and error["code"] == -32600, (body, answer.text)
        assert "validation error" not in answer.text and secret not in answer.text and "tools/list" not in answer.text
    assert answers[0].json()["error"]["message"].startswith("Invalid Request: a message to /mcp is one JSON-RPC 2.0")
    assert answers[5].json()["error"]["message"].startswith("Invalid Request: a request's id is a string or an integer")
    assert "Invalid Request" not in notified.text  # a notification (no id) passes on to the session


def test_a_body_with_a_byte_order_mark_is_read_as_its_json(service: PostmortemService) -> None:
    """A .NET or PowerShell client writes UTF-8 with a BOM: the SDK answered 'Parse error: expected value at line 1
    column 1'."""
    with serving(service) as url:
        answer = httpx.post(f"{url}/mcp", content=b"\xef\xbb\xbf" + json.dumps(INIT).encode(), headers=HEADERS | AUTH)
    assert answer.status_code == 200 and '"serverInfo"' in answer.text


def test_a_body_over_the_limit_is_a_json_rpc_error_naming_the_limit(service: PostmortemService) -> None:
    """The SDK's 413 was plain text, which a Python MCP client shows as 'Server returned an error response'."""
    big = json.dumps({**INIT, "params": {**INIT["params"], "pad": "x" * (600 * 1024)}})  # type: ignore[dict-item]
    with serving(service) as url:
        answer = httpx.post(f"{url}/mcp", content=big, headers=HEADERS | AUTH)
        after = httpx.post(f"{url}/mcp", content=json.dumps(INIT), headers=HEADERS | AUTH)
    assert answer.status_code == 413 and answer.headers["content-type"] == "application/json"
    assert answer.json()["error"]["message"].startswith("Request body too large: a message to /mcp is at most 512 KiB")
    assert after.status_code == 200


def test_two_authorization_headers_are_no_token(service: PostmortemService) -> None:
    """The first of two Authorization headers won, so a request carrying two tokens was served as whichever came
    first; now it is refused as a request without a token, even when one of them is right."""
    other = "Bearer another-token-0123456789abcdef"
    with serving(service) as url:
        refused = [
            httpx.post(f"{url}/mcp", content=json.dumps(INIT), headers=[*pair, *HEADERS.items()])
            for pair in (
                [("Authorization", f"Bearer {TOKEN}"), ("Authorization", other)],
                [("Authorization", other), ("Authorization", f"Bearer {TOKEN}")],
            )
        ]
        one = httpx.post(f"{url}/mcp", content=json.dumps(INIT), headers=HEADERS | AUTH)
    assert [r.status_code for r in refused] == [401, 401] and one.status_code == 200
    assert all(r.json()["error"]["code"] == -32001 for r in refused)


def test_a_body_nested_too_deep_to_parse_is_a_json_rpc_error_not_a_server_error(service: PostmortemService) -> None:
    """The check for a usable JSON-RPC message parsed the body with the standard parser, which recurses: a few KB of
    `{"a":{"a":...}}` raised RecursionError in the middleware and the client got a bare 500."""
    depth = 5000
    body = '{"jsonrpc": "2.0", "id": 7, "method": "tools/list", "params": ' + '{"a":' * depth + "1" + "}" * depth + "}"
    with serving(service) as url:
        answer = httpx.post(f"{url}/mcp", content=body, headers=HEADERS | AUTH)
    assert answer.status_code == 400 and answer.json()["error"]["code"] == -32700, answer.text[:300]  # parse error
