# ruff: noqa: E501  (tables of generators and carriers read best one per line)
"""The data of `postmortem bench redaction`: generated secrets and personal data of each kind, the carriers they are
planted in, the tricks that hide them (glued to CJK text, interleaved with invisible characters, JSON-escaped), and
benign look-alikes that must survive.

Each kind has carriers written together with the rules (`carriers`) and carriers written before the rules were
changed and never tuned on (`held_out`); the same split holds for the tricks (`TRICKS` / `HELD_OUT_TRICKS`).
"""

import ipaddress
import json
import random
import string
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

ALNUM = string.ascii_letters + string.digits
HEX = "0123456789abcdef"
B64 = ALNUM + "+/"
UPPER_DIGITS = string.ascii_uppercase + string.digits


def _s(rng: random.Random, n: int, alphabet: str = ALNUM) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def _luhn_card(rng: random.Random) -> str:
    digits = [rng.choice([4, 5])] + [rng.randrange(10) for _ in range(14)]
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


def _pem(rng: random.Random) -> str:
    body = "\n".join(_s(rng, 64, B64) for _ in range(4))
    return f"-----BEGIN RSA PRIVATE KEY-----\n{body}\n-----END RSA PRIVATE KEY-----"


def _pgp(rng: random.Random) -> str:
    body = "\n".join(["lQdGBG" + _s(rng, 58, B64), *(_s(rng, 64, B64) for _ in range(4)), "=" + _s(rng, 4, B64)])
    return f"-----BEGIN PGP PRIVATE KEY BLOCK-----\n\n{body}\n-----END PGP PRIVATE KEY BLOCK-----"


def _key_body(value: str) -> list[str]:
    """What must vanish from an armoured key: its body lines (the BEGIN/END lines are not secret)."""
    return [line for line in value.splitlines() if line and not line.startswith("-----")]


def _ipv6(rng: random.Random) -> str:
    groups = [rng.randrange(0x2001, 0x2C00)] + [rng.randrange(0x10000) for _ in range(7)]
    if rng.random() < 0.6:  # a run of zero groups, so that the address prints compressed
        start = rng.randrange(1, 6)
        groups[start : start + rng.randrange(2, 4)] = [0] * len(groups[start : start + 3])
        groups = (groups + [0] * 8)[:8]
    return str(ipaddress.IPv6Address(":".join(f"{g:x}" for g in groups)))


def _ssn(rng: random.Random) -> str:
    area = rng.choice([n for n in range(1, 900) if n != 666])
    return f"{area:03d}-{rng.randrange(1, 100):02d}-{rng.randrange(1, 10_000):04d}"


def _e164(rng: random.Random) -> str:
    return rng.choice(
        [
            f"+1{rng.randrange(2, 10)}{_s(rng, 2, string.digits)}{rng.randrange(2, 10)}{_s(rng, 6, string.digits)}",
            f"+447{_s(rng, 9, string.digits)}",
            f"+336{_s(rng, 8, string.digits)}",
            f"+4915{_s(rng, 9, string.digits)}",
        ]
    )


def _pairs(rng: random.Random, n: int) -> str:
    return " ".join(_s(rng, 2, string.digits) for _ in range(n))


def _phone_fr(rng: random.Random) -> str:
    first = rng.choice("1234567")
    return rng.choice(
        [f"0{first} {_pairs(rng, 4)}", f"+33 {first} {_pairs(rng, 4)}", f"+33 (0){first} {_pairs(rng, 4)}"]
    )


def _phone_de(rng: random.Random) -> str:
    area, number = rng.choice(["30", "40", "89", "221", "69"]), _s(rng, rng.randrange(6, 9), string.digits)
    mobile = f"15{rng.randrange(10)}"
    return rng.choice(
        [
            f"+49 {area} {number}",
            f"0{area} {number}",
            f"0{mobile} {_s(rng, 8, string.digits)}",
            f"+49 (0){area} {number}",
        ]
    )


def _password(rng: random.Random) -> str:
    return _s(rng, 5, string.ascii_letters) + _s(rng, 3, string.digits) + rng.choice("!@#$%&*") + _s(rng, 3)


def _basic(rng: random.Random) -> str:
    import base64

    return base64.b64encode(f"{_s(rng, 6)}:{_s(rng, 12)}".encode()).decode()


def _sas_sig(rng: random.Random) -> str:
    raw = _s(rng, 43, B64) + "="
    return raw.replace("+", "%2B").replace("/", "%2F").replace("=", "%3D")


@dataclass(frozen=True)
class Kind:
    make: Callable[[random.Random], str]
    carriers: tuple[str, ...]  # {v} is the value; written with the rules
    held_out: tuple[str, ...]  # written before the rules were changed, never tuned on
    group: Literal["secret", "pii"] = "secret"
    parts: Callable[[str], list[str]] = lambda v: [v]  # what must vanish
    keyed: bool = False  # known by the word before it (`password=`, `Bearer`), not by its own shape


def _as_tuple(carriers: str | tuple[str, ...]) -> tuple[str, ...]:
    return (carriers,) if isinstance(carriers, str) else carriers


def K(
    make: Callable[[random.Random], str],
    carrier: str | tuple[str, ...],
    held_out: str | tuple[str, ...],
    *,
    group: Literal["secret", "pii"] = "secret",
    parts: Callable[[str], list[str]] | None = None,
    keyed: bool = False,
) -> Kind:
    return Kind(make, _as_tuple(carrier), _as_tuple(held_out), group, parts or (lambda v: [v]), keyed)


# fmt: off
KINDS: dict[str, Kind] = {
    "openai_key": K(lambda r: "sk-proj-" + _s(r, 48, ALNUM + "_-"), "openai.AuthenticationError: Error code: 401 - Incorrect API key provided: {v}. Find your key at https://platform.example/account", "OPENAI_API_KEY='{v}' python run_agent.py"),
    "anthropic_key": K(lambda r: "sk-ant-api03-" + _s(r, 93, ALNUM + "_-"), 'client = Anthropic(api_key="{v}")\n  File "/srv/agent/llm.py", line 31, in complete', "llm:\n  provider: anthropic\n  key: {v}"),
    "github_token": K(lambda r: "ghp_" + _s(r, 36), "remote: Invalid username or token. git clone https://x-access-token:{v}@github.com/acme/repo.git", "GH_TOKEN={v} gh pr list"),
    "github_fine_grained_pat": K(lambda r: "github_pat_11" + _s(r, 20, UPPER_DIGITS) + "_" + _s(r, 59), 'tool_call {{"name": "gh.api", "arguments": {{"auth": "{v}", "path": "/repos/acme/app/pulls"}}}}', "Using PAT {v} for the release bot"),
    "gitlab_token": K(lambda r: "glpat-" + _s(r, 20, ALNUM + "_-"), "PRIVATE-TOKEN header rejected; token {v} expired (403) for project 4412", "CI_JOB_TOKEN fallback -> {v}"),
    "aws_access_key_id": K(lambda r: "AKIA" + _s(r, 16, UPPER_DIGITS), "botocore.exceptions.ClientError: InvalidAccessKeyId: The AWS Access Key Id {v} does not exist", '{{"AccessKeyId": "{v}", "Expiration": "2026-11-27T12:00:00Z"}}'),
    "aws_secret_access_key": K(lambda r: _s(r, 40, ALNUM + "/+"), "export AWS_SECRET_ACCESS_KEY={v}\nexport AWS_DEFAULT_REGION=eu-west-1", '{{"SecretAccessKey": "{v}", "SessionToken": null}}', keyed=True),
    "google_api_key": K(lambda r: "AIza" + _s(r, 35, ALNUM + "_-"), "GET https://maps.example.com/api/geocode/json?address=Lisbon&key={v} -> 403 REQUEST_DENIED", "geocoder config: {{key: {v}}}"),
    "huggingface_token": K(lambda r: "hf_" + _s(r, 34, string.ascii_letters), 'HfHubHTTPError: 401 Client Error for url https://hub.example/api/models (token="{v}")', "huggingface-cli login --token {v}"),
    "slack_token": K(lambda r: f"xoxb-{_s(r, 12, string.digits)}-{_s(r, 13, string.digits)}-{_s(r, 24)}", "slack_sdk.errors.SlackApiError: invalid_auth while posting with token {v} to #incidents", "SLACK_BOT={v}"),
    "slack_app_token": K(lambda r: f"xapp-1-A{_s(r, 10, UPPER_DIGITS)}-{_s(r, 13, string.digits)}-{_s(r, 64, HEX)}", "socket mode connect failed with app-level token {v} (invalid_auth)", 'App(token=bot, app_token="{v}").start()'),
    "slack_webhook": K(lambda r: f"https://hooks.slack.com/services/T{_s(r, 8, string.ascii_uppercase)}/B{_s(r, 10, string.ascii_uppercase)}/{_s(r, 24)}", 'POST {v} returned 404 no_service; payload {{"text": "deploy failed"}}', "alerts go to {v} (channel #ops)", parts=lambda v: [v.rsplit("/", 1)[1]]),
    "stripe_key": K(lambda r: "sk_live_" + _s(r, 24), "stripe.error.AuthenticationError: Invalid API Key provided: {v}", "STRIPE_SECRET: {v}"),
    "stripe_webhook_secret": K(lambda r: "whsec_" + _s(r, 32), "stripe.error.SignatureVerificationError: No signatures found matching the expected signature for payload (endpoint secret {v})", "construct_event(payload, sig_header, '{v}')"),
    "jwt": K(lambda r: "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ" + _s(r, 40, ALNUM + "_-") + "." + _s(r, 43, ALNUM + "_-"), "> GET /v1/orders HTTP/1.1\n> Host: api.internal\n> Cookie: session={v}\n< HTTP/1.1 401 Unauthorized", "id_token={v}&state=xyz"),
    "private_key": K(_pem, "deploy key loaded from env:\n{v}\nssh: handshake failed", "key_material: |\n{v}", parts=_key_body),
    "pgp_private_key": K(_pgp, "gpg: importing secret key failed:\n{v}\ngpg: Total number processed: 1", "exported signing key follows\n{v}\n(end of export)", parts=_key_body),
    "connection_string_password": K(lambda r: _s(r, 14, ALNUM + "!#%^*"), "sqlalchemy.exc.OperationalError: connection to postgresql://agent:{v}@10.0.4.12:5432/orders failed", "REDIS_URL=rediss://default:{v}@cache.internal:6380/0", keyed=True),
    "url_password": K(lambda r: _s(r, 12), "requests.exceptions.ConnectionError: HTTPSConnectionPool for https://svc-bot:{v}@registry.example.org/v2/", "pip install --index-url https://ci:{v}@pypi.internal/simple pkg", keyed=True),
    "bearer_token": K(lambda r: _s(r, 40, ALNUM + "._-"), "curl -sS -H 'Authorization: Bearer {v}' https://api.example.com/v1/tickets", "headers={{'authorization': 'bearer {v}'}}", keyed=True),
    "authorization_token": K(lambda r: _s(r, 40, HEX), "GET /api/v2/tickets with Authorization: Token {v} -> 401", '{{"headers": {{"Authorization": "token {v}"}}}}', keyed=True),
    "basic_auth_header": K(_basic, "> Authorization: Basic {v}\n< HTTP/1.1 403 Forbidden", "curl -H 'authorization: basic {v}' https://svc.internal/health", keyed=True),
    "api_key_header": K(lambda r: _s(r, 32), ("request headers: x-api-key: {v}; accept: application/json", '{{"headers": {{"X-Custom-Auth": "{v}", "api-key": "{v}"}}}}'), "Ocp-Apim-Subscription-Key: {v}", keyed=True),
    "password_pair": K(_password, 'tool_args: {{"db_host": "db-2", "db_password": "{v}", "timeout": 30}}', "db:\n  user: app\n  password: {v}", keyed=True),
    "password_prose": K(_password, "User wrote: my account is locked, the password is {v} and it stopped working", "Ticket note: password was set to {v} by the onboarding agent", keyed=True),
    "password_non_english": K(_password, ("Passwort: {v}", "contraseña={v}", "mot de passe : {v}", "密码={v}"), ("Kennwort = {v}", "la contraseña es {v}", "mot_de_passe={v}", "パスワード：{v}", "пароль: {v}", "senha={v}"), keyed=True),
    "cli_password": K(lambda r: _s(r, 10) + "!", "subprocess.CalledProcessError: Command 'mysqldump -u backup --password={v} orders' returned 2", "psql --host db --username app --password {v}", keyed=True),
    "npm_token": K(lambda r: "npm_" + _s(r, 36), "//registry.npmjs.org/:_authToken={v}\nnpm ERR! code E401", "NPM_TOKEN={v} npm publish"),
    "sendgrid_key": K(lambda r: "SG." + _s(r, 22, ALNUM + "_-") + "." + _s(r, 43, ALNUM + "_-"), "python_http_client.exceptions.UnauthorizedError: HTTP 401 using key {v}", "mailer.api_key = '{v}'"),
    "twilio_key": K(lambda r: "SK" + _s(r, 32, HEX), "TwilioRestException: HTTP 401 Authenticate, api key sid {v} for account", "twilio api-key {v} revoked"),
    "pypi_token": K(lambda r: "pypi-AgEIcHlwaS5vcmc" + _s(r, 60, ALNUM + "_-"), "twine upload dist/* -u __token__ -p {v}\nHTTPError: 403 Forbidden", "password = {v}"),
    "discord_webhook": K(lambda r: f"https://discord.com/api/webhooks/{_s(r, 18, string.digits)}/{_s(r, 68, ALNUM + '_-')}", "notify(url='{v}') raised HTTP 429 rate limited", "webhook: {v}", parts=lambda v: [v.rsplit("/", 1)[1]]),
    "digitalocean_token": K(lambda r: "dop_v1_" + _s(r, 64, HEX), "doctl auth init --access-token {v} failed: unable to authenticate", "DIGITALOCEAN_TOKEN={v}"),
    "shopify_token": K(lambda r: "shpat_" + _s(r, 32, HEX), "ShopifyAPI::UnauthorizedAccess with X-Shopify-Access-Token: {v}", "shopify admin token {v} was revoked"),
    "telegram_bot_token": K(lambda r: f"{_s(r, 10, string.digits)}:AA{_s(r, 33, ALNUM + '_-')}", "POST https://api.telegram.org/bot{v}/sendMessage -> 401 Unauthorized", "TELEGRAM_BOT_TOKEN={v}"),
    "mailchimp_key": K(lambda r: _s(r, 32, HEX) + f"-us{r.randrange(1, 21)}", "mailchimp_marketing.ApiClientError: 401 API Key Invalid for key {v}", "MC_API_KEY={v}"),
    "azure_storage_key": K(lambda r: _s(r, 86, B64) + "==", "DefaultEndpointsProtocol=https;AccountName=agentlogs;AccountKey={v};EndpointSuffix=core.windows.net", "AZURE_STORAGE_KEY={v}", keyed=True),
    "azure_storage_key_truncated": K(lambda r: _s(r, r.randrange(24, 60), B64), "BlobServiceClient.from_connection_string failed: ...;AccountKey={v}... (truncated)", "conn str: AccountName=agentlogs;AccountKey={v}", keyed=True),
    "sas_signature": K(_sas_sig, "GET https://agentlogs.blob.core.windows.net/runs/r1.json?sv=2022-11-02&ss=b&srt=o&sp=r&se=2026-01-01T00:00:00Z&sig={v} -> 403", "BlobEndpoint=https://agentlogs.blob.core.windows.net/;SharedAccessSignature=sv=2022-11-02&sp=rl&sig={v}", keyed=True),
    "email": K(lambda r: f"{_s(r, 6, string.ascii_lowercase)}.{_s(r, 5, string.ascii_lowercase)}@{_s(r, 7, string.ascii_lowercase)}.com", "User prompt: 'please refund order 88123 and email the receipt to {v} today'", "From: Jane <{v}>", group="pii"),
    "phone": K(lambda r: f"+44 20 {_s(r, 4, string.digits)} {_s(r, 4, string.digits)}", "Voice agent transcript: caller gave callback number {v} and asked for a human", "call me on {v} after 5", group="pii"),
    "phone_e164": K(_e164, "Twilio error 21211: invalid 'To' number {v} for the callback", "tel:{v}", group="pii"),
    "phone_fr": K(_phone_fr, "Transcription : le client demande à être rappelé au {v} demain", "Tél. : {v}", group="pii"),
    "phone_de": K(_phone_de, "Kunde bittet um Rückruf unter {v} wegen der Bestellung", "Telefon: {v}", group="pii"),
    "credit_card": K(_luhn_card, "Agent echoed the card number {v} back to the customer in chat", "pan={v} exp=12/29", group="pii"),
    "iban": K(_iban, "Payout tool args: amount=420.00 currency=EUR beneficiary_iban={v}", "IBAN: {v}", group="pii"),
    "ssn": K(_ssn, "The agent read the customer's SSN {v} back over the phone", 'kyc payload {{"ssn": "{v}", "dob": "1990-01-01"}}', group="pii"),
    "ip_address": K(lambda r: f"{r.randrange(11, 223)}.{r.randrange(256)}.{r.randrange(256)}.{r.randrange(1, 255)}", "WAF blocked 3,112 requests from {v} during the scraping incident", "X-Forwarded-For: {v}, 10.0.0.3", group="pii"),
    "ipv6": K(_ipv6, "connection reset by peer {v} port 443 after the TLS handshake", "upstream [{v}]:8443 closed the stream", group="pii"),
}
# fmt: on

# A trick rewrites how the value sits in its (first) carrier: (carrier, value, rng, keyed) -> text. The characters and
# escapes a trick inserts are listed so that a leak check can see through them. Tricks named in NUMBER_TRICKS put a
# number before the value, which only makes sense for a value known by its own shape (not a keyed one); a keyed
# value is glued to text only after it (`密码=hunter2!已过期`), since text before it would part it from its word.
Trick = Callable[[str, str, random.Random, bool], str]


def _interleave(chars: str) -> Trick:
    def trick(carrier: str, value: str, rng: random.Random, keyed: bool) -> str:
        mixed = "".join(c + (rng.choice(chars) if i % 3 == 2 else "") for i, c in enumerate(value))
        return carrier.format(v=mixed)

    return trick


def _glue(before: str, after: str) -> Callable[[str, str, bool], str]:
    return lambda carrier, value, keyed: carrier.format(v=("" if keyed else before) + value + after)


def _json(carrier: str, value: str, rng: random.Random, keyed: bool) -> str:
    return json.dumps(carrier.format(v=value), ensure_ascii=False)[1:-1]


def _escaped_zero_width(carrier: str, value: str, rng: random.Random, keyed: bool) -> str:
    half = len(value) // 2
    return json.dumps(carrier.format(v=value[:half] + "\u200b" + value[half:]))[1:-1]


TRICKS: dict[str, Trick] = {  # the ones issue reports named
    "glued_to_cjk": lambda c, v, r, k: _glue("令牌", "已失效")(c, v, k),
    "interleaved_vs16": _interleave("\ufe0f"),
    "json_escaped": _json,
    "escaped_zero_width_in_json": _escaped_zero_width,
    "after_another_number": lambda c, v, r, k: c.format(v=f"{r.randrange(100, 99_999)} {v}"),
}
HELD_OUT_TRICKS: dict[str, Trick] = {  # written before the rules changed, never tuned on
    "glued_to_kana_or_hangul": lambda c, v, r, k: r.choice([_glue("トークン", "です"), _glue("토큰", "입니다")])(
        c, v, k
    ),
    "interleaved_other_invisibles": _interleave(
        "\U000e0101\u034f\u3164\u2800\u200d\u2060\u00ad\u115f\u180e\uffa0\x07\x1b\u0085\ue000"
    ),
    "json_double_escaped": lambda c, v, r, k: json.dumps(_json(c, v, r, k))[1:-1],
    "json_ascii_escaped": lambda c, v, r, k: json.dumps(c.format(v=v), ensure_ascii=True)[1:-1],
    "after_a_grouped_number": lambda c, v, r, k: c.format(v=f"1 {r.randrange(100, 999)} {v}"),
}
NUMBER_TRICKS = frozenset({"after_another_number", "after_a_grouped_number"})
INSERTED = "\ufe0f\U000e0101\u034f\u3164\u2800\u200d\u2060\u00ad\u115f\u180e\uffa0\x07\x1b\u0085\ue000"
INSERTED_ESCAPES = ("\\u200b", "\\\\u200b")

# fmt: off
BENIGN: dict[str, Callable[[random.Random], str]] = {
    "uuid": lambda r: f"{_s(r, 8, HEX)}-{_s(r, 4, HEX)}-4{_s(r, 3, HEX)}-a{_s(r, 3, HEX)}-{_s(r, 12, HEX)}",
    "git_sha": lambda r: _s(r, 40, HEX),
    "digest": lambda r: "sha256:" + _s(r, 64, HEX),
    "request_id": lambda r: "req_" + _s(r, 24),
    "path": lambda r: f"/var/lib/agent/runs/{_s(r, 8, string.ascii_lowercase)}/step_{r.randrange(100)}.json",
    "version": lambda r: f"v{r.randrange(1, 9)}.{r.randrange(30)}.{r.randrange(30)}",
    "timestamp": lambda r: f"2026-{r.randrange(1, 13):02d}-{r.randrange(1, 29):02d}T{r.randrange(24):02d}:{r.randrange(60):02d}:00Z",
    "port": lambda r: f"port {r.randrange(1024, 65535)}",
    "trace_id": lambda r: f"trace_id={_s(r, 32, HEX)}",
    "order_total": lambda r: f"order {r.randrange(10_000, 999_999)} total {r.randrange(10, 9999)}.{r.randrange(100):02d} EUR",
    "completion_id": lambda r: f"chatcmpl-{_s(r, 29)}",
    "model_latency": lambda r: f"model gpt-4.1-mini-2025-04-14 latency {r.randrange(100, 9000)} ms",
    "pod_name": lambda r: f"k8s pod agent-worker-{_s(r, 10, string.ascii_lowercase + string.digits)}-{_s(r, 5, string.ascii_lowercase)}",
    "stack_frame": lambda r: (f'File "/srv/app/{_s(r, 6, string.ascii_lowercase)}.py", line {r.randrange(1, 900)}, in handle'),
    "x_request_id": lambda r: f"x-request-id: {_s(r, 8, HEX)}{_s(r, 24, HEX)}",
    "commit": lambda r: f"commit {_s(r, 7, HEX)} merged; build {r.randrange(1000, 99999)} green",
    "token_count": lambda r: f"prompt used {r.randrange(100, 9000)} tokens; token limit {r.randrange(4, 128)}k",
    "password_prose_benign": lambda r: "password reset link sent to the customer; the agent never saw the password",
    "templated_key": lambda r: "api_key: ${OPENAI_API_KEY} (from the environment)",
    "masked_password": lambda r: "password: ******** (masked by the logger)",
    "bearer_prose": lambda r: f"the bearer of the request was service account agent-{r.randrange(100)}",
    "image_digest": lambda r: f"image digest {_s(r, 12, HEX)} pulled in {r.randrange(2, 90)} s",
    "clock_time": lambda r: f"{r.randrange(10, 99)}:{r.randrange(10, 59)}:{r.randrange(10, 59)}.{r.randrange(100, 999)} worker {r.randrange(1, 64)} restarted",
    "cpp_rust_path": lambda r: f"Traceback in std::vector<int>::at and crate::store::{_s(r, 6, string.ascii_lowercase)}::open",
    "mac_address": lambda r: f"mac {':'.join(_s(r, 2, HEX) for _ in range(6))} on eth{r.randrange(4)}",
    "hexdump": lambda r: "hexdump: " + " ".join(_s(r, 2, HEX) for _ in range(16)),
    "unix_time_bytes": lambda r: f"unix time {r.randrange(1_600_000_000, 1_900_000_000)} ({r.randrange(10_000, 99_999_999)} bytes written)",
    "isbn": lambda r: f"ISBN 978-{r.randrange(1, 9)}-{_s(r, 3, string.digits)}-{_s(r, 5, string.digits)}-{r.randrange(10)}",
    "diff_stat": lambda r: f"{r.randrange(1, 12)} files changed, +{r.randrange(10, 9999)} -{r.randrange(10, 999)} lines",
    "build_number": lambda r: f"build 2026{r.randrange(1, 13):02d}{r.randrange(1, 29):02d}.{r.randrange(1, 9)} released",
    "password_words": lambda r: r.choice([ "the password is incorrect", "the password is required for sudo", "Passwort ist falsch", "mot de passe oublié", "contraseña incorrecta", "密码错误，请重试", ]),
    "credential_header_names": lambda r: r.choice([ "Idempotency-Key: " + _s(r, 8, HEX) + "-4" + _s(r, 3, HEX), "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", "Authentication-Results: mx.example.com; spf=pass", "X-Auth-User: service-account-7", "X-Auth-Request-Redirect: https://app.example.com/cb", "X-Cache-Key: /api/v1/users", "X-Custom-Auth: disabled", "X-Auth-Method: oauth2_client", "task-key: build-2026-11", "sort-key: created_at_desc", ":authority: api.example.com", "Author: Jane Doe", ]),
    "authorization_words": lambda r: r.choice([ "Authorization: Token required", "Authorization header missing", "Authorization: Bearer <token>", "sig=None in the callback", ]),
    "cjk_prose": lambda r: f"用户反馈：代理回答错误，订单 {r.randrange(10_000, 99_999)} 需要人工处理",
    "span_ids": lambda r: f"span {_s(r, 16, HEX)} parent {_s(r, 16, HEX)} in trace {_s(r, 32, HEX)}",
    "grouped_thousands": lambda r: f"rate limit {r.randrange(100, 999)} 000 tokens per minute, {r.randrange(10, 99)} 000 used",
    # written with the rules for names that hold a credential word or end in _KEY, and for passwords told in prose
    "credential_name_look_alikes": lambda r: r.choice([ f"KEY_COUNT={r.randrange(1, 99)}", "MONKEY=banana", "SORT_KEY=name", "primary_key=id", f"TOKEN_LIMIT={r.randrange(512, 9999)}", f"max_tokens={r.randrange(16, 4096)}", "keyboard=us", f"CACHE_KEY=Users:v2:Page-{r.randrange(1, 99)}", f"ROW_KEY=Order-2026-11-{r.randrange(10, 28)}-{_s(r, 9, string.digits)}", f"TENANT_KEY={_s(r, 8, HEX)}-{_s(r, 4, HEX)}-4{_s(r, 3, HEX)}-a{_s(r, 3, HEX)}-{_s(r, 12, HEX)}", "SSH_KEY=/home/agent/.ssh/id_ed25519", "DB_PASSWORD_FILE=/run/secrets/db_password", f"API_KEY_ID=AKID{_s(r, 16)}", "SECRET_NAME=prod-db-credentials-2026", "STORAGE_KEY = settings.AZURE_STORAGE_KEY_V2", ]),
    "password_sentences": lambda r: r.choice([ "the password was reset", "password is required", "password to the admin panel was rotated", "the password is always the same", "the password was reset to default", "set the password to expire in 90 days", "password changed to something else", "the password is now stored in the vault", "update the password to match the policy", "pw: none", ]),
}
# fmt: on
BENIGN_CARRIERS = (
    "agent run failed after retry; {v}; see the trace",
    "代理运行失败：{v}。请查看追踪",
    '{{\\"note\\": \\"{v}\\", \\"retry\\": 2}}',
)
