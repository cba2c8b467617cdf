# ruff: noqa: E501  (tables of generators and carriers read best one per line)
"""`postmortem bench redaction`: recall and precision of redaction per secret/PII type on a seeded synthetic corpus.

The corpus puts generated secrets of each type inside realistic carriers (stack traces, HTTP dumps, tool-call
JSON, prompts, env files, CLI lines) and mixes in benign look-alikes that must survive: UUIDs, git SHAs, digests,
request ids, paths, versions, timestamps, ports. A secret counts as caught when its value no longer appears in
the redacted text; a benign value counts as a false positive when it was altered.
"""

import random
import string
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from store.redact import redact_text

ALNUM = string.ascii_letters + string.digits


def _s(rng: random.Random, n: int, alphabet: str = ALNUM) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def _luhn_card(rng: random.Random) -> str:
    digits = [4] + [rng.randrange(10) for _ in range(14)]
    total = 0
    for i, d in enumerate(reversed(digits)):
        d = d * 2 if i % 2 == 0 else d
        total += d - 9 if d > 9 else d
    digits.append((10 - total % 10) % 10)
    text = "".join(map(str, digits))
    return " ".join(text[i : i + 4] for i in range(0, 16, 4))


def _iban(rng: random.Random) -> str:
    bban = "".join(rng.choice(string.digits) for _ in range(18))
    check = 98 - int("".join(str(int(c, 36)) for c in bban + "DE00")) % 97
    code = f"DE{check:02d}{bban}"
    return " ".join(code[i : i + 4] for i in range(0, len(code), 4))


HEX = "0123456789abcdef"
# type -> (generator of the secret, the exact value that must disappear)
GENERATORS: dict[str, Callable[[random.Random], str]] = {
    "openai_key": lambda r: "sk-proj-" + _s(r, 48, ALNUM + "_-"),
    "anthropic_key": lambda r: "sk-ant-api03-" + _s(r, 93, ALNUM + "_-"),
    "github_token": lambda r: "ghp_" + _s(r, 36),
    "github_fine_grained_pat": lambda r: (
        "github_pat_11" + _s(r, 20, string.ascii_uppercase + string.digits) + "_" + _s(r, 59)
    ),
    "gitlab_token": lambda r: "glpat-" + _s(r, 20, ALNUM + "_-"),
    "aws_access_key_id": lambda r: "AKIA" + _s(r, 16, string.ascii_uppercase + string.digits),
    "aws_secret_access_key": lambda r: _s(r, 40, ALNUM + "/+"),
    "google_api_key": lambda r: "AIza" + _s(r, 35, ALNUM + "_-"),
    "huggingface_token": lambda r: "hf_" + _s(r, 34, string.ascii_letters),
    "slack_token": lambda r: f"xoxb-{_s(r, 12, string.digits)}-{_s(r, 13, string.digits)}-{_s(r, 24)}",
    "slack_webhook": lambda r: (
        f"https://hooks.slack.com/services/T{_s(r, 8, string.ascii_uppercase)}/B{_s(r, 10, string.ascii_uppercase)}/{_s(r, 24)}"
    ),
    "stripe_key": lambda r: "sk_live_" + _s(r, 24),
    "jwt": lambda r: (
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ" + _s(r, 40, ALNUM + "_-") + "." + _s(r, 43, ALNUM + "_-")
    ),
    "private_key": lambda r: (
        "-----BEGIN RSA PRIVATE KEY-----\n"
        + "\n".join(_s(r, 64, ALNUM + "+/") for _ in range(4))
        + "\n-----END RSA PRIVATE KEY-----"
    ),
    "connection_string_password": lambda r: _s(r, 14, ALNUM + "!#%^*"),
    "url_password": lambda r: _s(r, 12, ALNUM),
    "bearer_token": lambda r: _s(r, 40, ALNUM + "._-"),
    "password_pair": lambda r: _s(r, 6, string.ascii_letters) + _s(r, 6, string.digits + "!@#$"),
    "cli_password": lambda r: _s(r, 10, ALNUM) + "!",
    "npm_token": lambda r: "npm_" + _s(r, 36),
    "sendgrid_key": lambda r: "SG." + _s(r, 22, ALNUM + "_-") + "." + _s(r, 43, ALNUM + "_-"),
    "twilio_key": lambda r: "SK" + _s(r, 32, HEX),
    "pypi_token": lambda r: "pypi-AgEIcHlwaS5vcmc" + _s(r, 60, ALNUM + "_-"),
    "discord_webhook": lambda r: (
        f"https://discord.com/api/webhooks/{_s(r, 18, string.digits)}/{_s(r, 68, ALNUM + '_-')}"
    ),
    "digitalocean_token": lambda r: "dop_v1_" + _s(r, 64, HEX),
    "email": lambda r: (
        f"{_s(r, 6, string.ascii_lowercase)}.{_s(r, 5, string.ascii_lowercase)}@{_s(r, 7, string.ascii_lowercase)}.com"
    ),
    "phone": lambda r: f"+44 20 {_s(r, 4, string.digits)} {_s(r, 4, string.digits)}",
    "credit_card": _luhn_card,
    "iban": _iban,
    "ip_address": lambda r: f"{r.randrange(11, 223)}.{r.randrange(256)}.{r.randrange(256)}.{r.randrange(1, 255)}",
}

CARRIERS: dict[str, str] = {  # {v} is the secret; {k} a type-appropriate key name
    "openai_key": "openai.AuthenticationError: Error code: 401 - Incorrect API key provided: {v}. Find your key at https://platform.example/account",
    "anthropic_key": 'client = Anthropic(api_key="{v}")\n  File "/srv/agent/llm.py", line 31, in complete',
    "github_token": "remote: Invalid username or token. git clone https://x-access-token:{v}@github.com/acme/repo.git",
    "github_fine_grained_pat": 'tool_call {{"name": "gh.api", "arguments": {{"auth": "{v}", "path": "/repos/acme/app/pulls"}}}}',
    "gitlab_token": "PRIVATE-TOKEN header rejected; token {v} expired (403) for project 4412",
    "aws_access_key_id": "botocore.exceptions.ClientError: InvalidAccessKeyId: The AWS Access Key Id {v} does not exist",
    "aws_secret_access_key": "export AWS_SECRET_ACCESS_KEY={v}\nexport AWS_DEFAULT_REGION=eu-west-1",
    "google_api_key": "GET https://maps.example.com/api/geocode/json?address=Lisbon&key={v} -> 403 REQUEST_DENIED",
    "huggingface_token": 'HfHubHTTPError: 401 Client Error for url https://hub.example/api/models (token="{v}")',
    "slack_token": "slack_sdk.errors.SlackApiError: invalid_auth while posting with token {v} to #incidents",
    "slack_webhook": 'POST {v} returned 404 no_service; payload {{"text": "deploy failed"}}',
    "stripe_key": "stripe.error.AuthenticationError: Invalid API Key provided: {v}",
    "jwt": "> GET /v1/orders HTTP/1.1\n> Host: api.internal\n> Cookie: session={v}\n< HTTP/1.1 401 Unauthorized",
    "private_key": "deploy key loaded from env:\n{v}\nssh: handshake failed",
    "connection_string_password": "sqlalchemy.exc.OperationalError: connection to postgresql://agent:{v}@10.0.4.12:5432/orders failed",
    "url_password": "requests.exceptions.ConnectionError: HTTPSConnectionPool for https://svc-bot:{v}@registry.example.org/v2/",
    "bearer_token": "curl -sS -H 'Authorization: Bearer {v}' https://api.example.com/v1/tickets",
    "password_pair": 'tool_args: {{"db_host": "db-2", "db_password": "{v}", "timeout": 30}}',
    "cli_password": "subprocess.CalledProcessError: Command 'mysqldump -u backup --password={v} orders' returned 2",
    "npm_token": "//registry.npmjs.org/:_authToken={v}\nnpm ERR! code E401",
    "sendgrid_key": "python_http_client.exceptions.UnauthorizedError: HTTP 401 using key {v}",
    "twilio_key": "TwilioRestException: HTTP 401 Authenticate, api key sid {v} for account",
    "pypi_token": "twine upload dist/* -u __token__ -p {v}\nHTTPError: 403 Forbidden",
    "discord_webhook": "notify(url='{v}') raised HTTP 429 rate limited",
    "digitalocean_token": "doctl auth init --access-token {v} failed: unable to authenticate",
    "email": "User prompt: 'please refund order 88123 and email the receipt to {v} today'",
    "phone": "Voice agent transcript: caller gave callback number {v} and asked for a human",
    "credit_card": "Agent echoed the card number {v} back to the customer in chat",
    "iban": "Payout tool args: amount=420.00 currency=EUR beneficiary_iban={v}",
    "ip_address": "WAF blocked 3,112 requests from {v} during the scraping incident",
}

# The same secrets written differently (other key names, quoting, YAML, nested JSON, prose): carriers the rules
# were not written against, to show how far they generalise.
HELD_OUT: dict[str, str] = {
    "openai_key": "OPENAI_API_KEY='{v}' python run_agent.py",
    "anthropic_key": "llm:\n  provider: anthropic\n  key: {v}",
    "github_token": "GH_TOKEN={v} gh pr list",
    "github_fine_grained_pat": "Using PAT {v} for the release bot",
    "gitlab_token": "CI_JOB_TOKEN fallback -> {v}",
    "aws_access_key_id": '{{"AccessKeyId": "{v}", "Expiration": "2026-11-27T12:00:00Z"}}',
    "aws_secret_access_key": '{{"SecretAccessKey": "{v}", "SessionToken": null}}',
    "google_api_key": "geocoder config: {{key: {v}}}",
    "huggingface_token": "huggingface-cli login --token {v}",
    "slack_token": "SLACK_BOT={v}",
    "slack_webhook": "alerts go to {v} (channel #ops)",
    "stripe_key": "STRIPE_SECRET: {v}",
    "jwt": "id_token={v}&state=xyz",
    "private_key": "key_material: |\n{v}",
    "connection_string_password": "REDIS_URL=rediss://default:{v}@cache.internal:6380/0",
    "url_password": "pip install --index-url https://ci:{v}@pypi.internal/simple pkg",
    "bearer_token": "headers={{'authorization': 'bearer {v}'}}",
    "password_pair": "db:\n  user: app\n  password: {v}",
    "cli_password": "psql --host db --username app --password {v}",
    "npm_token": "NPM_TOKEN={v} npm publish",
    "sendgrid_key": "mailer.api_key = '{v}'",
    "twilio_key": "twilio api-key {v} revoked",
    "pypi_token": "password = {v}",
    "discord_webhook": "webhook: {v}",
    "digitalocean_token": "DIGITALOCEAN_TOKEN={v}",
    "email": "From: Jane <{v}>",
    "phone": "call me on {v} after 5",
    "credit_card": "pan={v} exp=12/29",
    "iban": "IBAN: {v}",
    "ip_address": "X-Forwarded-For: {v}, 10.0.0.3",
}

BENIGN: list[Callable[[random.Random], str]] = [
    lambda r: f"{_s(r, 8, HEX)}-{_s(r, 4, HEX)}-4{_s(r, 3, HEX)}-a{_s(r, 3, HEX)}-{_s(r, 12, HEX)}",  # uuid
    lambda r: _s(r, 40, HEX),  # git sha
    lambda r: "sha256:" + _s(r, 64, HEX),  # digest
    lambda r: "req_" + _s(r, 24),  # request id
    lambda r: f"/var/lib/agent/runs/{_s(r, 8, string.ascii_lowercase)}/step_{r.randrange(100)}.json",
    lambda r: f"v{r.randrange(1, 9)}.{r.randrange(30)}.{r.randrange(30)}",
    lambda r: f"2026-{r.randrange(1, 13):02d}-{r.randrange(1, 29):02d}T{r.randrange(24):02d}:{r.randrange(60):02d}:00Z",
    lambda r: f"port {r.randrange(1024, 65535)}",
    lambda r: f"trace_id={_s(r, 32, HEX)}",
    lambda r: f"order {r.randrange(10_000, 999_999)} total {r.randrange(10, 9999)}.{r.randrange(100):02d} EUR",
    lambda r: f"chatcmpl-{_s(r, 29)}",
    lambda r: f"model gpt-4.1-mini-2025-04-14 latency {r.randrange(100, 9000)} ms",
    lambda r: (
        f"k8s pod agent-worker-{_s(r, 10, string.ascii_lowercase + string.digits)}-{_s(r, 5, string.ascii_lowercase)}"
    ),
    lambda r: f'File "/srv/app/{_s(r, 6, string.ascii_lowercase)}.py", line {r.randrange(1, 900)}, in handle',
    lambda r: f"x-request-id: {_s(r, 8, HEX)}{_s(r, 24, HEX)}",
    lambda r: f"commit {_s(r, 7, HEX)} merged; build {r.randrange(1000, 99999)} green",
    lambda r: f"prompt used {r.randrange(100, 9000)} tokens; token limit {r.randrange(4, 128)}k",
    lambda r: "password reset link sent to the customer; the agent never saw the password",
    lambda r: "api_key: ${OPENAI_API_KEY} (from the environment)",
    lambda r: "password: ******** (masked by the logger)",
    lambda r: f"the bearer of the request was service account agent-{r.randrange(100)}",
    lambda r: f"image digest {_s(r, 12, HEX)} pulled in {r.randrange(2, 90)} s",
]
BENIGN_CARRIER = "agent run failed after retry; {v}; see the trace"


def corpus(
    seed: int = 0, per_type: int = 80, benign: int = 2_400, carriers: dict[str, str] = CARRIERS
) -> tuple[list[tuple[str, str, str]], list[str]]:
    """([(type, text, secret value)], [benign texts]) — deterministic for a seed."""
    rng = random.Random(seed)
    secrets = []
    for kind, make in GENERATORS.items():
        for _ in range(per_type):
            value = make(rng)
            secrets.append((kind, carriers[kind].format(v=value), value))
    look_alikes = [BENIGN_CARRIER.format(v=rng.choice(BENIGN)(rng)) for _ in range(benign)]
    return secrets, look_alikes


def measure(secrets: list[tuple[str, str, str]], look_alikes: list[str]) -> dict[str, Any]:
    caught: Counter[str] = Counter()
    totals: Counter[str] = Counter()
    started = time.perf_counter()
    for kind, text, value in secrets:
        redacted, _ = redact_text(text)
        totals[kind] += 1
        caught[kind] += value not in redacted and redacted == redact_text(redacted)[0]  # gone, and idempotent
    altered = [t for t in look_alikes if redact_text(t)[0] != t]
    seconds = time.perf_counter() - started
    missed = sorted(k for k in totals if caught[k] < totals[k])
    return {
        "secrets": len(secrets),
        "recall_overall": round(sum(caught.values()) / len(secrets), 4),
        "recall_below_1": {k: round(caught[k] / totals[k], 3) for k in missed},
        "false_positive_rate": round(len(altered) / len(look_alikes), 4) if look_alikes else None,
        "false_positive_examples": altered[:5],
        "ms_per_text": round(1000 * seconds / (len(secrets) + len(look_alikes)), 3),
    }


def run(seed: int = 0, per_type: int = 80, benign: int = 2_400) -> dict[str, Any]:
    secrets, look_alikes = corpus(seed, per_type, benign)
    held_out, _ = corpus(seed + 1, per_type, 0, carriers=HELD_OUT)
    return {
        "seed": seed,
        "types": len(GENERATORS),
        "benign": len(look_alikes),
        "carriers_written_with_the_rules": measure(secrets, look_alikes),
        "held_out_carriers": measure(held_out, []),
        "targets": {"recall_prefixed": 0.99, "recall_overall": 0.95, "false_positive_rate": 0.02},
    }
