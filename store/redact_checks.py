"""The checks a redaction rule's pattern alone cannot make (an IBAN's checksum, a valid IPv6 address, a value that
looks like a credential rather than a word), by rule: each is given the matched value and the 10 characters before
it, and a match it refuses is kept in the text."""

import ipaddress
import re
import string
from collections.abc import Callable

# Keys known by their prefix are found glued to the text before them too: what an ANSI colour code leaves once its
# ESC is dropped (`[1mghp_…`), a percent-encoded byte (`%1bghp_…`), a letter or a digit (`_glued_ok` checks them)
PREFIXED = frozenset({
    "github_fine_grained_pat", "github_token", "gitlab_token", "anthropic_key", "openai_key", "stripe_key",
    "stripe_webhook_secret", "aws_access_key_id", "google_api_key", "huggingface_token", "postmortem_token",
    "vault_token", "grafana_token", "groq_key", "xai_key", "perplexity_key", "replicate_token", "langsmith_key",
    "tavily_key", "slack_token", "npm_token", "pypi_token", "sendgrid_key", "digitalocean_token", "shopify_token",
    "jwt",
})  # fmt: skip
_VERSION_BEFORE = re.compile(r"(?:version|ver\.?|v)\s*$", re.IGNORECASE)
_SAFE_IPS = frozenset({"0.0.0.0", "127.0.0.1", "255.255.255.255"})
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _iban_ok(text: str) -> bool:
    code = text.replace(" ", "")
    if not 15 <= len(code) <= 34:
        return False
    moved = code[4:] + code[:4]
    return int("".join(str(int(c, 36)) for c in moved)) % 97 == 1


def _ipv6_ok(value: str) -> bool:
    try:
        address = ipaddress.IPv6Address(value)
    except ValueError:
        return False
    return not (address.is_loopback or address.is_unspecified) and (value.count(":") == 7 or len(value) >= 6)


def credential_like(value: str) -> bool:
    """A value next to a credential word that is more than a word: it has a digit, a symbol or inner capitals."""
    return any(c.isdigit() or c in string.punctuation for c in value) or value[1:] != value[1:].lower()


def _header_credential(value: str) -> bool:
    """A credential header's value: long, or letters and digits in one piece; not a word (`X-Custom-Auth: disabled`),
    a name (`build-2026-11`), a URL or a path."""
    if "://" in value or value.startswith("/"):
        return False
    return len(value) >= 16 or (value.isalnum() and not value.isalpha() and not value.isdigit())


def _phone_ok(value: str, before: str) -> bool:
    digits = re.sub(r"\D", "", value)
    return 9 <= len(digits) <= 15 and not _DATE.fullmatch(value.strip()) and not before.rstrip().endswith("ISBN")


_HEX_BODY = re.compile(r"[0-9a-fA-F]{32}")


def _glued_ok(value: str, before: str) -> bool:
    """A prefixed key after a space or a symbol, or glued to a letter or digit and random as a key is: a digit, and
    capitals for a quarter of its letters or 32 hex digits ("task-runner-…", "risk-Assessment-Q4-…" hold "sk-")."""
    if not before or not (before[-1].isascii() and (before[-1].isalnum() or before[-1] == "_")):
        return True
    letters = [c for c in value if c.isalpha()]
    capitals = sum(c.isupper() for c in letters)
    return any(c.isdigit() for c in value) and (4 * capitals >= len(letters) or bool(_HEX_BODY.search(value)))


CHECKS: dict[str, Callable[[str, str], bool]] = {  # kind -> check(value, the 10 characters before it)
    **dict.fromkeys(PREFIXED, _glued_ok),
    "iban": lambda v, b: _iban_ok(v),
    "ip_address": lambda v, b: v not in _SAFE_IPS and not v.startswith("0.") and not _VERSION_BEFORE.search(b),
    "ipv6": lambda v, b: _ipv6_ok(v),
    "phone": _phone_ok,
    "authorization_header": lambda v, b: credential_like(v),
    "api_key_header": lambda v, b: _header_credential(v),
    "cookie": lambda v, b: len(v) >= 8 and credential_like(v.split("=", 1)[1]),
    # both cases and a digit, / or +: not a word run, not a lower-case hex digest (a commit after a key id)
    "aws_secret_access_key": lambda v, b: (
        bool(re.search(r"[a-z]", v) and re.search(r"[A-Z]", v)) and bool(re.search(r"[0-9/+]", v))
    ),
}
