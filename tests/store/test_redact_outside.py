"""Secret shapes found from outside (capturing hostile incidents through the CLI and the MCP tools): each is
redacted, its look-alikes survive, and a capture through the CLI stores none of them."""

import json
from pathlib import Path

import pytest

from agent_postmortem.store.redact import redact, redact_text
from tests.processes import postmortem

OUTSIDE_MISSES = [  # (what, text, the secret): found by capturing hostile incidents through the CLI and MCP tools
    (
        "JWT cut off after its payload",
        "auth=eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODk",
        "eyJzdWIiOiIx",
    ),
    (
        "encrypted JWT (JWE)",
        "token eyJhbGciOiJSU0EtT0FFUCIsImVuYyI6IkEyNTZHQ00ifQ.OKOawDo13gRp2ojaHV7LFpZcgV7T6DVZKTyK.48V1_ALb6US04U3b."
        "5eym8TW_c8SuK0ltJ3rpYIzOeDQz7TALvtu6UG9oMo4.XFBoMYUZodetZdvTiFvSkQ",
        "OKOawDo13gRp2oja",
    ),
    ("pw in tool arguments", '{"user": "svc", "pw": "hunter2Secret"}', "hunter2Secret"),
    ("DB_PASS in an env file", "DB_HOST=db\nDB_PASS=hunter2Secret\n", "hunter2Secret"),
    ("Cookie header", "Cookie: session=abcd1234efgh5678ijkl; csrftoken=Zx9YqW8vU7tS6rR5", "abcd1234efgh5678"),
    ("Set-Cookie header", "Set-Cookie: sessionid=abcd1234efgh5678ijkl; Path=/; HttpOnly", "abcd1234efgh5678"),
    ("Cookie in JSON headers", '{"headers": {"Cookie": "sid=abcd1234efgh5678ijkl"}}', "abcd1234efgh5678"),
    ("Groq key", "GROQ gsk_abcdEFGHijklMNOPqrstUVWXyz0123456789abcdEFGHijklMNOP", "abcdEFGHijklMNOP"),
    ("xAI key", "xai-" + "abcdEFGHijklMNOPqrstUVWXyz0123456789" * 2 + "abcdefgh", "abcdEFGHijklMNOP"),
    ("Perplexity key", "pplx-" + "0123456789abcdefABCDEF0123456789abcdefABCDEF0123", "0123456789abcdef"),
    ("Replicate token", "r8_" + "Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4zAb7cDe0", "Ab3dEf6hIj9kLm2n"),
    ("LangSmith key", "lsv2_pt_" + "0123456789abcdef" * 2 + "_0123456789", "0123456789abcdef"),
    ("Tavily key", "tvly-dev-AbCdEfGhIjKlMnOpQrStUvWxYz012345", "AbCdEfGhIjKlMnOp"),
    (
        "key= in a URL",
        "GET https://maps.example.com/api/geocode?address=x&key=Ab3dEf6hIj9kLm2nOp5q",
        "Ab3dEf6hIj9kLm2n",
    ),
    ("curl -u name:password", "$ curl -sS -u admin:hunter2Secret https://api.example.com/v1/orders", "hunter2Secret"),
    ("curl --user name:password", "curl --user admin:hunter2Secret https://x.example", "hunter2Secret"),
    ("URL password without a user name", "REDIS_URL=redis://:hunter2Secret@cache:6379/0", "hunter2Secret"),
    ("quoted password with spaces", 'config: {"password": "correct horse 2 battery staple"}', "battery staple"),
    ("JSON-escaped quoted password with spaces", '{\\"password\\": \\"correct horse 2 battery\\"}', "2 battery"),
    ("Vault token", "X-Vault: hvs.CAESIJlWh3ZJzq4bF5x8hX1kzNvYQZ3K0bG5cGhJY", "CAESIJlWh3ZJzq4b"),
    ("Grafana service account token", "glsa_AbCdEfGhIjKlMnOpQrStUvWxYz012345_abcdef12", "AbCdEfGhIjKlMnOp"),
    ("Azure APIM subscription key", "Ocp-Apim-Subscription-Key: 0a1b2c3d4e5f67890a1b2c3d4e5f6789", "0a1b2c3d4e5f6789"),
    ("X-Auth-Key header", "> X-Auth-Key: 9f8e7d6c5b4a39281706f5e4d3c2b1a0ffee1\n< HTTP/1.1 403", "9f8e7d6c5b4a3928"),
    ("a header named for auth", "X-Custom-Auth: Qm9vNzRzZWNyZXQhIQ7w3", "Qm9vNzRzZWNyZXQh"),
    ("X-Authentication header", "X-Authentication: 7Hq2LmZ9xP4rW1vK8sJ3", "7Hq2LmZ9xP4rW1vK"),
    ("a header with a Secret part", "X-Secret-Value: Tz8pQ1wE6rY3uI0oA5sD", "Tz8pQ1wE6rY3uI0o"),
    (
        "subscription key in JSON headers",
        '{"headers": {"Ocp-Apim-Subscription-Key": "5e4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b"}}',
        "5e4d3c2b1a0f9e8d",
    ),
    ("auth header in a dict", "{'headers': {'x-custom-auth': 'Token Lk3Jh5Gf7Ds9Aq2Wz4Xc'}}", "Lk3Jh5Gf7Ds9Aq2W"),
    ("api-key as Azure OpenAI sends it", "api-key: Vb6Nm8Qw1Er3Ty5Ui7Op9As", "Vb6Nm8Qw1Er3Ty5U"),
    # tokens of services agents call, stored in clear before (the Discord one with 11 characters of its HMAC left)
    ("Pinecone key", "PINECONE pcsk_2Xb7Qz_" + "Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z" * 2, "Ab3dEf6hIj9kLm2n"),
    ("Fireworks key", "fireworks rejected fw_3ZkQ8vLm2Rt7Yp4Wn9Xc6Bd1", "3ZkQ8vLm2Rt7Yp4W"),
    ("Databricks token", "DATABRICKS_HOST=x dapi0123456789abcdef0123456789abcdef-2 denied", "0123456789abcdef"),
    ("Atlassian API token", "jira auth ATATT3xFfGF0" + "Ab3dEf6hIj9kLm2nOp5q" * 9 + "=A1B2C3D4", "Ab3dEf6hIj9kLm2n"),
    ("Linear key", "linear: lin_api_" + "Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4zAb7cDe0F", "Ab3dEf6hIj9kLm2n"),
    ("Notion token", "notion ntn_12345678901" + "Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4zAb7", "Ab3dEf6hIj9kLm2n"),
    ("Notion legacy token", "NOTION secret_" + "Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4zAb7cDe0FgH1", "Ab3dEf6hIj9kLm2n"),
    ("Google OAuth access token", "gmail tool sent ya29.a0AfB_byAb3dEf6hIj9kLm2nOp5qRs8t", "Ab3dEf6hIj9kLm2n"),
    ("Google OAuth refresh token", "refresh with 1//0gAb3dEf6hIj9kLm2nOp5qRs8tUv1wXy4zAb7cDe0F", "Ab3dEf6hIj9kLm2n"),
    ("Supabase token", "supabase sbp_0123456789abcdef0123456789abcdef01234567 failed", "0123456789abcdef"),
    ("Doppler token", "doppler dp.pt." + "Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4zAb7cDe0FgH1", "Ab3dEf6hIj9kLm2n"),
    ("PlanetScale token", "pscale_tkn_Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z", "Ab3dEf6hIj9kLm2n"),
    ("Postman key", "PMAK-0123456789abcdef01234567-0123456789abcdef0123456789abcdef01", "0123456789abcdef"),
    ("Figma token", "figma figd_Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4zAb7cDe0F", "Ab3dEf6hIj9kLm2n"),
    ("New Relic key", "NRAK-AB3DEF6HIJ9KLM2NOP5QRS8TUV1", "AB3DEF6HIJ9KLM2N"),
    ("Sentry token", "sntrys_eyJpYXQiOjE3" + "Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z", "Ab3dEf6hIj9kLm2n"),
    ("Pulumi token", "PULUMI_ACCESS_TOKEN pul-0123456789abcdef0123456789abcdef01234567", "0123456789abcdef"),
    ("Mapbox secret token", "mapbox sk.eyJ1IjoiYWNtZSIsImEiOiJjbDEyMyJ9.Ab3dEf6hIj9kLm2nOp5qRs", "Ab3dEf6hIj9kLm2n"),
    ("Square access token", "square EAAA" + "Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z" * 2, "Ab3dEf6hIj9kLm2n"),
    ("age secret key", "AGE-SECRET-KEY-1" + "QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L" * 2, "QPZRY9X8GF2TVDW0"),
    (
        "Discord bot token with a 38-character HMAC",
        "discord: MTAxNTk4NzY1NDMyMTAxMjM0NQ.GhIjKl.Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXyZZzzZZ",
        "tUv1wXyZZzzZZ",
    ),
]


@pytest.mark.parametrize(("what", "text", "secret"), OUTSIDE_MISSES, ids=[m[0] for m in OUTSIDE_MISSES])
def test_each_miss_found_from_outside_is_redacted(what: str, text: str, secret: str) -> None:
    redacted, counts = redact_text(text)
    assert secret not in redacted, (what, redacted)
    assert "[REDACTED:" in redacted and redact(redacted) == redacted


@pytest.mark.parametrize(
    "text",
    [
        "first pass: skipped; second pass: ok; pass=yes; bypass=enabled1; tests pass: 12/12",
        "the cookie jar was full; Cookie: none; Set-Cookie header missing; cookie=chocolate",
        "keyboard?key=ArrowDown and a JWT header alone eyJhbGciOiJIUzI1NiJ9 is no token",
        'ls -u file:name; docker run --user 1000:1000 img; https://user@host/path; the "password" field was "not set"',
        "Idempotency-Key: 5f2c7a10-3b4e-4c1a-9d2e-8f7a6b5c4d3e\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\n"
        "Authentication-Results: mx.example.com; spf=pass\nWWW-Authenticate: Bearer realm=api\n:authority: api.x.io",
        "X-Auth-User: service-account-7; X-Auth-Request-Redirect: https://app.example.com/cb; Author: Jane Doe; "
        "X-Cache-Key: /api/v1/users; X-Custom-Auth: disabled; X-Auth-Method: oauth2_client; task-key: build-2026-11",
        "fw_0123456789abcdef01234567 flashed; the dapi client; secret_santa_assignments; key-0123456789abcdef; "
        "lin_api_reference; NRAK-42 ticket; sbp_ prefix; the pcsk_ prefix; sk.example.com; EAAA battery",
    ],
)
def test_look_alikes_of_the_rules_found_from_outside_survive(text: str) -> None:
    assert redact(text) == text


def test_a_capture_through_the_cli_stores_none_of_the_misses_found_from_outside(tmp_path: Path) -> None:
    """The whole path, as found: `postmortem capture --file` with them in tool arguments, title and description."""
    incident = {
        "title": "Refund agent failed " + OUTSIDE_MISSES[0][1],
        "description": "\n".join(text for _, text, _ in OUTSIDE_MISSES[1:]),
        "tool_args": json.dumps({"pw": "hunter2Secret", "headers": {"Cookie": "sid=abcd1234efgh5678ijkl"}}),
    }
    path = tmp_path / "incident.json"
    path.write_text(json.dumps(incident))
    home = tmp_path / "home"
    assert postmortem("capture", "--file", str(path), home=home).returncode == 0
    shown = postmortem("export", "-o", str(tmp_path / "out.jsonl"), home=home)
    assert shown.returncode == 0, shown.stderr.decode()
    stored = (tmp_path / "out.jsonl").read_text() + (home / "postmortem.db").read_bytes().decode("latin-1")
    assert not [what for what, _, secret in OUTSIDE_MISSES if secret in stored]


PAGING_AND_HEX = [  # values that are not secrets: a paging cursor names a position, a hex dump is bytes
    "X-Ms-Continuation-Token: +RID:~a3dRAKvbJ1kBAAAAAAAAAA==#RT:1#TRC:10#ISV:2#IEO:65551",
    "next-page-token: CiAKGjBpNDd2Nmp2Zml2cXRneHJiZTl2bWJ5YXE",
    '{"nextPageToken": "CgwIABIIdGVzdDEyMzQ1Ng", "items": []}',
    "next_page_token=eyJvZmZzZXQiOjEwMH0abcdef12",
    '{"NextToken": "AAMA-EFRSURBSGh4bWV2cWZ2", "ContinuationToken": "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM="}',
    "pageToken=CAoQAA; cursor_token: bmV4dDoxMDA; pagination-token: 4f9a2c7e1b3d5a6c",
    "0000: 4a 6f 68 6e 20 44 6f 65 0a 01 07 96 09 37 00 00",
    "hexdump: 23 83 ed a6 ca 1d 0d 01 07 96 09 37 d7 9b fc b0",
    '00000010  0a 1b 06 12 34 56 78 9a  bc de f0 11 22 33 44 55  |....4Vx....."3DU|',
    "payload 4a6f 686e 2044 0153 9558 4457 6f65 0a0b",
    "payload 4a6f 0153 9558 4457 6f65 0a0b 1c2d",
    "bytes: 0d 01 07 96 09 37 d7 9b fc",
    "buffer: 7F 45 4C 46 01 07 96 09 37 AB CD EF",
]


@pytest.mark.parametrize("text", PAGING_AND_HEX)
def test_a_paging_token_or_a_hex_dump_is_not_redacted(text: str) -> None:
    assert redact(text) == text


NEXT_TO_THEM = [  # the credentials beside them still go
    ("X-Api-Token: a8f5f167f44f4964e6c998dee827110c", "a8f5f167f44f4964"),
    ("Authorization: Bearer abcdefghijklmnop1234567890", "abcdefghijklmnop"),
    ("X-Service-Key: Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MA", "Zm9vYmFyYmF6cXV4"),
    ('{"access_token": "ya29.a0AfH6SMBx3kQ9", "nextPageToken": "CgwIABIIdGVzdA"}', "ya29.a0AfH6SMBx"),
    ("refresh_token=1//0gLx7Hq2LmZ9xP4rW1vK", "0gLx7Hq2LmZ9xP4r"),
    ("session token: Tz8pQ1wE6rY3uI0oA5sD", "Tz8pQ1wE6rY3uI0o"),
    ("call me on 06 12 34 56 78 tomorrow", "06 12 34 56 78"),
    ("Rückruf unter 030 12345678 bitte", "030 12345678"),
    ("numéro de 06 12 34 56 78 de 10 à 12h", "06 12 34 56 78"),
    ("Rückruf ab 030 12345678 ab 9 Uhr", "030 12345678"),
]


@pytest.mark.parametrize(("text", "secret"), NEXT_TO_THEM)
def test_credentials_and_phones_beside_paging_tokens_and_hex_dumps_still_go(text: str, secret: str) -> None:
    assert secret not in redact(text)


def test_a_capture_through_the_cli_keeps_paging_tokens_and_hex_dumps(tmp_path: Path) -> None:
    incident = {"title": "listing stopped after the first page", "description": "\n".join(PAGING_AND_HEX)}
    path = tmp_path / "incident.json"
    path.write_text(json.dumps(incident))
    home = tmp_path / "home"
    captured = postmortem("capture", "--file", str(path), "--json", home=home)
    assert captured.returncode == 0, captured.stderr.decode()
    assert json.loads(captured.stdout)["redacted"] == {}
    assert postmortem("export", "-o", str(tmp_path / "out.jsonl"), home=home).returncode == 0
    assert (tmp_path / "out.jsonl").read_text().count("REDACTED") == 0
