"""Redaction before anything is stored: secrets and personal data in captured text become typed placeholders.

Two detectors, one replacement: the project's own rules give exact spans for the formats that matter most in
agent failures (provider keys, tokens, private keys, credentials in URLs, headers, config pairs and CLI flags, and
PII: email, phone, Luhn-valid cards, IBANs with a valid checksum, IP addresses); detect-secrets' plugins (with its
false-positive filters) run on each line as a second opinion, and any value they report that the rules missed is
replaced too. Entropy-only detection is left out: in stack traces it flags commit hashes, digests and request ids.

Invisible characters (zero-width, bidi controls, Unicode tags: how instructions get smuggled to a model) are
dropped in the same pass and counted, so the record keeps a flag and no later reader, model or report sees them.
Placeholders (`[REDACTED:github_token]`) match no rule, so redaction is idempotent.
"""

import re
import unicodedata
from collections import Counter
from functools import cache
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

PLACEHOLDER = "[REDACTED:{}]"
_PLACEHOLDER = re.compile(r"\[REDACTED:[a-z_0-9]+\]")

# (type, pattern, group to replace: 0 = the whole match)
_SECRET_RULES: list[tuple[str, str, int]] = [
    ("private_key", r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|\Z)", 0),
    ("github_fine_grained_pat", r"\bgithub_pat_[A-Za-z0-9_]{60,255}", 0),
    ("github_token", r"\bgh[pousr]_[A-Za-z0-9]{36,255}\b", 0),
    ("gitlab_token", r"\bglpat-[A-Za-z0-9_-]{20,}", 0),
    ("anthropic_key", r"\bsk-ant-[A-Za-z0-9_-]{20,}", 0),
    ("openai_key", r"\bsk-(?:proj-|svcacct-|admin-|None-)?[A-Za-z0-9_-]{20,}", 0),
    ("stripe_key", r"\b(?:sk|rk|pk|whsec)_(?:live|test)_[A-Za-z0-9]{16,}", 0),
    ("aws_access_key_id", r"\b(?:AKIA|ASIA|ABIA|ACCA|AROA|AIDA)[0-9A-Z]{16}\b", 0),
    ("google_api_key", r"\bAIza[0-9A-Za-z_-]{35}", 0),
    ("huggingface_token", r"\bhf_[A-Za-z0-9]{30,}", 0),
    ("slack_webhook", r"https://hooks\.slack\.com/(?:services|workflows)/[A-Za-z0-9/_-]{20,}", 0),
    ("slack_token", r"\bxox[abposr]-[A-Za-z0-9-]{10,}", 0),
    ("discord_webhook", r"https://(?:canary\.|ptb\.)?discord(?:app)?\.com/api/webhooks/\d+/[A-Za-z0-9_-]{30,}", 0),
    ("npm_token", r"\bnpm_[A-Za-z0-9]{36}\b", 0),
    ("pypi_token", r"\bpypi-AgE[A-Za-z0-9_-]{50,}", 0),
    ("sendgrid_key", r"\bSG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}\b", 0),
    ("twilio_key", r"\bSK[0-9a-f]{32}\b", 0),
    ("digitalocean_token", r"\bdo[por]_v1_[a-f0-9]{64}\b", 0),
    ("shopify_token", r"\bshp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}\b", 0),
    ("telegram_bot_token", r"\b\d{8,10}:AA[A-Za-z0-9_-]{33}\b", 0),
    ("mailchimp_key", r"\b[0-9a-f]{32}-us\d{1,2}\b", 0),
    ("azure_storage_key", r"(?i)AccountKey=([A-Za-z0-9+/]{86,88}={0,2})", 1),
    ("jwt", r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}", 0),
    (
        "connection_string",
        r"\b(?:postgres(?:ql)?|mysql|mariadb|mongodb(?:\+srv)?|redis|rediss|amqps?|mssql|sqlserver)://[^:/\s@]+:([^@\s]+)@",
        1,
    ),
    ("url_credentials", r"\b[a-z][a-z0-9+.-]*://[^:/\s@]+:([^@\s/]{3,})@", 1),
    ("bearer_token", r"(?i)\bbearer\s+([A-Za-z0-9._~+/-]{16,}=*)", 1),
    ("basic_auth_header", r"(?i)\bauthorization:\s*basic\s+([A-Za-z0-9+/]{8,}=*)", 1),
    ("api_key_header", r"(?i)\b(?:x-api-key|api-key|x-auth-token|x-goog-api-key)\s*:\s*([^\s\"',;]{8,})", 1),
    (
        "password_pair",
        r"(?i)[\"']?\b(?:[a-z0-9_.-]*(?:password|passwd|pwd|passphrase|secret|api[_-]?key|apikey|access[_-]?key|"
        r"auth[_-]?token|access[_-]?token|refresh[_-]?token|client[_-]?secret|private[_-]?key|token))[\"']?"
        r"\s*(?:=|:|=>)\s*[\"']?([^\s\"',;}{)\]]{6,})",
        1,
    ),
    (
        "cli_password",
        r"(?i)(?:^|\s)--?(?:password|passwd|pass|token|api-key|apikey|secret|client-secret)(?:=|\s+)[\"']?([^\s\"']{6,})",
        1,
    ),
]

_PII_RULES: list[tuple[str, str, int]] = [
    ("email", r"\b[A-Za-z0-9._%+-]+@(?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,}\b", 0),
    ("iban", r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b", 0),
    ("credit_card", r"(?<![\w-])(?:\d[ -]?){12,18}\d(?![\w-])", 0),
    (
        "phone",
        r"(?<![\w.-])(?:(?:\+\d{1,3}[ .-]?)?(?:\(\d{2,4}\)[ .-]?)?\d{2,4}[ .-]\d{3,4}[ .-]\d{3,4}|"
        r"\(\d{3}\)[ .-]?\d{3}[ .-]\d{4})(?![\w-])",
        0,
    ),
    ("ip_address", r"\b(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)\b", 0),
]

_DETECT_SECRETS_TYPES = {  # detect-secrets plugin -> our type (entropy and IP plugins are not used)
    "AWS Access Key": "aws_access_key_id",
    "Artifactory Credentials": "artifactory_token",
    "Azure Storage Account access key": "azure_storage_key",
    "Basic Auth Credentials": "url_credentials",
    "Cloudant Credentials": "cloudant_credentials",
    "Discord Bot Token": "discord_bot_token",
    "GitHub Token": "github_token",
    "GitLab Token": "gitlab_token",
    "IBM COS HMAC Credentials": "ibm_credentials",
    "IBM Cloud IAM Key": "ibm_credentials",
    "JSON Web Token": "jwt",
    "Mailchimp Access Key": "mailchimp_key",
    "NPM tokens": "npm_token",
    "OpenAI Token": "openai_key",
    "Private Key": "private_key",
    "PyPI Token": "pypi_token",
    "Secret Keyword": "password_pair",
    "SendGrid API Key": "sendgrid_key",
    "Slack Token": "slack_token",
    "SoftLayer Credentials": "softlayer_credentials",
    "Square OAuth Secret": "square_secret",
    "Stripe Access Key": "stripe_key",
    "Telegram Bot Token": "telegram_bot_token",
    "Twilio API Key": "twilio_key",
}
_NOT_SECRET_VALUES = re.compile(
    r"^(?:\*+|x+|<[^>]*>|\$\{?[A-Za-z_][A-Za-z0-9_]*\}?|%\([a-z_]+\)s|\{\{.*\}\}|null|none|true|false|"
    r"redacted|changeme|example|placeholder|\[REDACTED:[a-z_0-9]+\])$",
    re.IGNORECASE,
)
_VERSION_BEFORE = re.compile(r"(?:version|ver\.?|v)\s*$", re.IGNORECASE)
_SAFE_IPS = frozenset({"0.0.0.0", "127.0.0.1", "255.255.255.255"})


def _luhn(digits: str) -> bool:
    total, parity = 0, len(digits) % 2
    for i, ch in enumerate(digits):
        d = int(ch)
        if i % 2 == parity:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _iban_ok(text: str) -> bool:
    code = text.replace(" ", "")
    if not 15 <= len(code) <= 34:
        return False
    moved = code[4:] + code[:4]
    return int("".join(str(int(c, 36)) for c in moved)) % 97 == 1


def _pii_ok(kind: str, value: str, before: str) -> bool:
    """Checks a pattern alone cannot make: a card's Luhn digit, an IBAN's checksum, an IP that is not a version."""
    if kind == "credit_card":
        digits = re.sub(r"\D", "", value)
        return 13 <= len(digits) <= 19 and _luhn(digits) and len(set(digits)) > 1
    if kind == "iban":
        return _iban_ok(value)
    if kind == "ip_address":
        return value not in _SAFE_IPS and not value.startswith("0.") and not _VERSION_BEFORE.search(before)
    if kind == "phone":
        digits = re.sub(r"\D", "", value)
        return 9 <= len(digits) <= 15 and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip())
    return True


@cache
def _compiled() -> list[tuple[str, re.Pattern[str], int, bool]]:
    rules = [(kind, re.compile(p), g, False) for kind, p, g in _SECRET_RULES]
    return rules + [(kind, re.compile(p), g, True) for kind, p, g in _PII_RULES]


@cache
def _plugins() -> list[Any]:
    from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class

    mapping: dict[str, Any] = get_mapping_from_secret_type_to_class()
    return [cls() for name, cls in mapping.items() if name in _DETECT_SECRETS_TYPES]


def _looks_like_value(value: str) -> bool:
    return len(value) >= 8 and not _NOT_SECRET_VALUES.match(value) and not _PLACEHOLDER.search(value)


def _spans(text: str) -> list[tuple[int, int, str, bool]]:
    found: list[tuple[int, int, str, bool]] = []
    for kind, pattern, group, is_pii in _compiled():
        for match in pattern.finditer(text):
            start, end = match.span(group)
            value = match.group(group)
            if start < 0 or text.startswith("[REDACTED:", start) or _NOT_SECRET_VALUES.match(value):
                continue
            if is_pii and not _pii_ok(kind, value, text[max(0, start - 10) : start]):
                continue
            found.append((start, end, kind, is_pii))
    return found


_WORTH_A_LOOK = re.compile(r"[A-Za-z0-9_+/=.-]{16,}|(?i:pass|secret|token|key|auth|cred|://)")


def _detect_secrets_values(text: str) -> list[tuple[str, str]]:
    """Values detect-secrets reports (with its filters) that are worth replacing literally. Only lines with a long
    token or a credential word are looked at: prose and stack frames have nothing for it and cost the most."""
    from detect_secrets.filters.heuristic import is_likely_id_string, is_potential_uuid, is_templated_secret

    values = []
    for number, line in enumerate(text.splitlines(), start=1):
        if len(line) > 4_000 or not _WORTH_A_LOOK.search(line):
            continue
        for plugin in _plugins():
            for secret in plugin.analyze_line(filename="capture.txt", line=line, line_number=number):
                value = secret.secret_value or ""
                if not _looks_like_value(value) or is_potential_uuid(value) or is_templated_secret(value):
                    continue
                if is_likely_id_string(value, line, plugin):
                    continue
                values.append((value, _DETECT_SECRETS_TYPES[secret.type]))
    return values


def strip_invisible(text: str) -> tuple[str, int]:
    """Drop characters a reader cannot see but a model reads (zero-width, bidi controls, the Unicode tag block:
    format characters, category Cf); returns the text and how many were dropped."""
    kept = "".join(c for c in text if unicodedata.category(c) != "Cf")
    return kept, len(text) - len(kept)


def redact_text(text: str) -> tuple[str, Counter[str]]:
    """The text without invisible characters and with every secret and PII span replaced by a typed placeholder,
    and the count per type (invisible characters count as `invisible_characters`)."""
    if not text:
        return text, Counter()
    text, hidden = strip_invisible(text)
    spans = sorted(_spans(text), key=lambda s: (s[0], s[3], -(s[1] - s[0])))  # at one start: secrets, then longest
    out, counts, cursor = [], Counter[str](), 0
    for start, end, kind, _ in spans:
        if start < cursor:  # overlaps an earlier, longer span
            continue
        out += [text[cursor:start], PLACEHOLDER.format(kind)]
        counts[kind] += 1
        cursor = end
    out.append(text[cursor:])
    result = "".join(out)
    if hidden:
        counts["invisible_characters"] += hidden
    for value, kind in _detect_secrets_values(result):
        if value in result:
            counts[kind] += result.count(value)
            result = result.replace(value, PLACEHOLDER.format(kind))
    return result, counts


def redact(text: str) -> str:
    return redact_text(text)[0]


def redact_value(value: Any, counts: Counter[str] | None = None) -> Any:
    """Redact every string inside a JSON-like value (dicts, lists, nested context)."""
    if isinstance(value, str):
        text, found = redact_text(value)
        if counts is not None:
            counts.update(found)
        return text
    if isinstance(value, list):
        return [redact_value(v, counts) for v in value]
    if isinstance(value, dict):
        return {k: redact_value(v, counts) for k, v in value.items()}
    return value


M = TypeVar("M", bound=BaseModel)


def redact_model(model: M) -> tuple[M, Counter[str]]:
    """A copy of a record with every text field (nested ones too) redacted, and the count per type."""
    counts: Counter[str] = Counter()
    data = redact_value(model.model_dump(), counts)
    if not counts:
        return model, counts
    try:
        return type(model).model_validate(data), counts
    except ValidationError as e:  # a placeholder can be longer than what it replaced: trim to the field's limit
        for error in e.errors(include_input=False, include_url=False):
            if error["type"] != "string_too_long":
                raise
            _trim(data, list(error["loc"]), int(error["ctx"]["max_length"]))
        return type(model).model_validate(data), counts


def _trim(data: Any, loc: list[str | int], limit: int) -> None:
    for key in loc[:-1]:
        data = data[key]
    data[loc[-1]] = data[loc[-1]][: limit - 1] + "…"
