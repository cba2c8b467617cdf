"""Rules for secrets that a variable's name or a sentence says are one, beyond the names `redact_rules` reads: a name
that goes on after its credential word (`DB_PASSWORD_PROD`, `GITHUB_TOKEN_RW`), a name ending in `_KEY` that is no
sort, cache, public or other key of data (`AZURE_STORAGE_KEY`, `storageKey`, `LICENSE_KEY`), and a password told in
prose ("the password was set to X", "set the admin password to X", "its password is now X", "pw: X"; of letters
only where the sentence ends with it: "the password is sunshine").

Both were stored in clear in the bench's held-out carriers (`AZURE_STORAGE_KEY=<key>`, "password was set to X"); the
rules here were written after that was seen, so on those carriers they are measured in sample.
"""

import re

from agent_postmortem.store.redact_checks import credential_like
from agent_postmortem.store.redact_rules import (
    _BYTES,
    _IS,
    _PASSWORD_WORDS,
    _Q,
    _QUOTED,
    _SECRET_WORDS,
    _SENTENCE_END,
    _V,
    HINTS,
    _value,
)

# What may follow a credential word in a name and leave it one: a stage, a version, a role, an encoding
_QUALIFIER = (
    r"(?:prod|production|prd|dev|devel|development|stg|stage|staging|test|testing|qa|uat|sandbox|sbx|live|local|ci|"
    r"primary|secondary|old|new|current|backup|bak|main|default|rw|ro|admin|readonly|read|write|value|val|b64|"
    r"base64|raw|plain|plaintext|enc|encoded|v\d{1,3}|\d{1,3})"
)
_PAIR = rf"{_Q}[ \t\u00a0\u3000]*(?:=|:|=>|：|＝)[ \t\u00a0\u3000]*{_Q}{_BYTES}"
# keys of data, not secrets, and keys that are public: the part right before `_KEY` (`SORT_KEY`, `cacheKey`)
_DATA_KEYS = (
    "sort", "primary", "foreign", "partition", "part", "cache", "public", "pub", "publishable", "site", "idempotency",
    "idem", "row", "range", "object", "obj", "shard", "routing", "route", "lookup", "dedup", "dedupe", "composite",
    "unique", "natural", "surrogate", "hash", "page", "hot", "map", "dict", "group", "index", "idx", "search", "join",
    "cluster", "distribution", "dist", "order", "s3", "blob", "file", "path", "bucket", "message", "msg", "event",
    "job", "task", "cursor", "label", "metric", "config", "setting", "settings", "translation", "i18n", "locale",
    "field", "column", "col", "attribute", "attr", "tag", "lock", "queue", "stream", "topic", "state", "ttl", "kms",
    "gpg", "pgp", "fingerprint", "verify", "verification", "name", "type", "enum", "id", "user", "tenant", "session",
    "redis", "memcache", "foo", "bar", "my", "some", "the", "this", "that", "other", "next", "prev", "last", "first",
)  # fmt: skip
_NOT_DATA_KEY = "".join(rf"(?<!(?i:{word})[_.](?i:key))(?<!(?i:{word})Key)" for word in _DATA_KEYS)
# a name of two parts or more ending in KEY (AZURE_STORAGE_KEY, storage.key, storageKey), not one word (MONKEY); not
# hyphenated (Sec-WebSocket-Key: headers are `api_key_header`'s, with their own look-alikes)
_KEY_NAME = (
    rf"(?<![\w.-])[A-Za-z0-9]+(?:[_.][A-Za-z0-9]+)*?(?:[_.](?:KEY|key|Key)|(?<=[a-z0-9])Key){_NOT_DATA_KEY}"
    rf"(?:[_.](?i:{_QUALIFIER}))*(?![\w.-])"
)
_UUID = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")
_REFERENCE = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+")  # settings.AZURE_STORAGE_KEY_V2, process.env.X
_BASE64_KEY = re.compile(r"[A-Za-z0-9+/]{40,}={0,2}")
_NOT_A_KEY_START = ("/", "~", "./", "../", "arn:", "projects/", "alias/", "$")


def random_key(value: str) -> bool:
    """A value under a `_KEY` name that looks like a key, not a name, a path, an id or a reference: 16 characters or
    more with no space, letters and digits, and both cases, or capitals only (a license key), or 32 hex digits."""
    value = value.strip()
    if len(value) < 16 or any(c.isspace() for c in value) or "://" in value:
        return False
    if value.startswith(_NOT_A_KEY_START) and not _BASE64_KEY.fullmatch(value) or 12 * value.count("/") > len(value):
        return False  # a path; a base64 key can start with a / too, with few of them (one in 64 characters)
    if _UUID.fullmatch(value) or _REFERENCE.fullmatch(value):
        return False
    letters = [c for c in value if c.isascii() and c.isalpha()]
    if not letters or not any(c.isdigit() for c in value):
        return False
    upper, lower = any(c.isupper() for c in letters), any(c.islower() for c in letters)
    return (upper and lower) or (upper and len(value) >= 20) or bool(re.fullmatch(r"[0-9a-fA-F]{32,}", value))


# Words a sentence puts after "the password is" or "set to" that say something of the password, not what it is
_NOT_A_PASSWORD = frozenset(
    """
    also always any being blank correct default different empty encrypted expire fine good here hidden incorrect
    invalid known long mandatory match mine missing needed never none null optional ours same secret short stale
    still there theirs this that true false unknown unchanged valid weak wrong yours strong unset okay rotate change
    reset update expire expires ready safe sent sure taken gone lost broken forgotten written given shown available
    unavailable visible invisible below above attached enclosed case sensitive complex simple random unique temporary
    something nothing everything anything somewhere nowhere elsewhere else what which whatever required not yet
    only likely unlikely really daily weekly monthly yearly hourly randomly automatically
""".split()
)
_NOT_A_PASSWORD_ENDINGS = ("ed", "ing", "able", "ible", "ive", "ous", "ful", "less", "ment", "tion", "sion")


def plain_password(value: str) -> bool:
    """A letters-only value a sentence gives as the password: one word that is no adjective or participle a sentence
    about a password ends with ("is incorrect", "was changed", "is required")."""
    word = value.lower()
    return (
        value.isascii()
        and value.isalpha()
        and word not in _NOT_A_PASSWORD
        and not word.endswith(_NOT_A_PASSWORD_ENDINGS)
    )


def prose_password(value: str, before: str) -> bool:
    return credential_like(value) or plain_password(value)


_PLAIN = r"(?-i:[A-Za-z][a-z]{3,39})"  # a word, a capital at most at its start (an inner one makes it credential-like)
# ... that ends its clause: punctuation, the end of its line, or and/but/so/then/or
_CLAUSE_END = r"(?=[\"'\u201d\u00bb)\]]*(?:[.!?\u2026,;:]|[ \t]*(?:\n|\Z)|[ \t]+(?:and|but|so|then|or)\b))"
# a value with more than letters (a plain word followed by the end of a sentence or of the value is the one above)
_MORE_THAN_A_WORD = rf"(?!(?-i:[A-Za-z][a-z]*)(?:{_SENTENCE_END}|(?!{_V})))"
_PROSE_VALUE = rf"[\"'“«]?({_PLAIN}{_CLAUSE_END}|{_MORE_THAN_A_WORD}{_value(_V, 6)})"
_ENGLISH_PASSWORD = r"(?:password|passphrase|passwd|pwd)"
_WHOSE = r"(?:[ \t]+(?:for|of|on)[ \t]+[^\s]{1,40}?)?"  # "the password for alice", "the password of the admin account"
_TO = r"(?:set|changed|updated|reset|rotated|switched)[ \t]+(?:back[ \t]+)?to[ \t]+"

NAMED_RULES: list[tuple[str, str, int]] = [
    (  # a name that goes on after its credential word with a stage, version, role or encoding (DB_PASSWORD_PROD)
        "password_pair",
        rf"(?i)(?:{_PASSWORD_WORDS}|{_SECRET_WORDS})(?:[_.-]{_QUALIFIER})+"
        rf"(?![\w.-]){_PAIR}({_QUOTED}|{_value(_V, 6)})",
        1,
    ),
    ("named_key", rf"{_KEY_NAME}{_PAIR}({_QUOTED}|{_value(_V, 16)})", 1),  # AZURE_STORAGE_KEY=…, "storageKey": "…"
    (  # "the password is X" in the languages of the password words (X with more than letters in all but English)
        "password_prose",
        rf"(?i)(?<![A-Za-z0-9])(?:{_PASSWORD_WORDS}){_IS}[\"'“«]?({_MORE_THAN_A_WORD}{_value(_V, 6)})",
        1,
    ),
    (  # "the password (for alice) is (now) X", "password was set to X", "password has been changed to X"
        "password_prose",
        rf"(?i)(?<![A-Za-z0-9_]){_ENGLISH_PASSWORD}{_WHOSE}[ \t]+"
        r"(?:(?:is|was|has[ \t]+been|had[ \t]+been|got|will[ \t]+be)[ \t]+)?"
        rf"(?:(?:now|still|currently)[ \t]+(?:{_TO})?|{_TO}|(?<=is[ \t])|(?<=was[ \t])){_PROSE_VALUE}",
        1,
    ),
    (  # "set the (admin) password (for alice) to X", "changed my password to X"
        "password_prose",
        r"(?i)\b(?:set|sets|setting|change|changes|changed|changing|reset|resets|update|updates|updated)[ \t]+"
        r"(?:(?:the|a|an|my|your|his|her|its|their|our|this|that|new)[ \t]+)*(?:[\w.@-]+[ \t]+){0,2}?"
        rf"{_ENGLISH_PASSWORD}{_WHOSE}[ \t]+to[ \t]+{_PROSE_VALUE}",
        1,
    ),
    ("password_prose", rf"(?i)(?<![A-Za-z0-9_])pw[ \t]*[:=][ \t]*({_PLAIN}{_CLAUSE_END})", 1),  # "pw: sunshine"
]
NAMED_HINTS: dict[str, tuple[str, ...]] = {"named_key": ("key",), "password_prose": (*HINTS["password_prose"], "pw")}
NAMED_CHECKS = {"named_key": lambda v, b: random_key(v), "password_prose": prose_password}
