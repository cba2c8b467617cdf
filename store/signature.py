"""Failure signatures: what makes two captures the same failure, and error text with its volatile parts masked.

One masking rule serves both grouping and display. Masked: uuids, long hex ids, and numbers that stand on their
own (a count, a duration, a port, a request number), keeping their unit. Kept: digits inside a name
(`pr0cure-check.io`, `campaign_q4_emea`, `ORA-00942`, `E11000`), because a name with other digits is another
thing and an error code with other digits another error; and an HTTP status (429, 503: a number that opens the
message, follows "HTTP", "status", "returned"... or precedes a reason phrase), because a rate limit and an outage
are different failures. The price is that `worker-12` and `worker-13` sign differently: two incidents
that similarity search still links into one pattern, which is cheaper than counting one failure as an
occurrence of another.
"""

import hashlib
import re
from typing import Protocol

_VOLATILE = re.compile(
    r"(?P<id>\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b|\b(?=[0-9a-f]*\d)[0-9a-f]{12,}\b)"
    r"|(?<![\w.-])(?P<number>\d+(?:[.,]\d+)*)(?P<unit>ms|s|m|h|k|kb|mb|gb|%)?(?![\w-]|\.\w)",
    re.IGNORECASE,
)
_STATUS = re.compile(r"[45]\d\d")
# A 4xx/5xx number is a status only with evidence: it opens the message, follows a word that introduces one, or
# precedes a reason phrase. "rate limit of 500 RPM" is a quota, "after 500 ms" a duration.
_STATUS_BEFORE = re.compile(
    r"(?:\bhttps?|\bstatus|\bcode|\berror|\breturned|\bgot|\banswered|\bresponded|\bresponse)\W{0,3}$", re.IGNORECASE
)
_REASON_AFTER = re.compile(
    r"\W{0,3}(?:too many requests|internal server error|bad gateway|service unavailable|gateway time-?out|not found"
    r"|forbidden|unauthori[sz]ed|bad request|conflict|request time-?out|unprocessable|payload too large)",
    re.IGNORECASE,
)


def _is_status(message: str, m: re.Match[str]) -> bool:
    if m["unit"] or not _STATUS.fullmatch(m["number"]):
        return False
    before = message[: m.start()]
    return not before.strip() or bool(_STATUS_BEFORE.search(before) or _REASON_AFTER.match(message, m.end()))


class Failure(Protocol):
    @property
    def agent(self) -> str | None: ...
    @property
    def tool(self) -> str | None: ...
    @property
    def error_type(self) -> str | None: ...
    @property
    def error_message(self) -> str | None: ...


def mask_volatile(message: str) -> str:
    """The message with its ids and free-standing numbers masked (`ID`, `N`), so that occurrences of one failure
    read alike; names with digits and HTTP status codes stay as they are."""

    def mask(m: re.Match[str]) -> str:
        if m["id"]:
            return "ID"
        return m[0] if _is_status(message, m) else "N" + (m["unit"] or "")

    return _VOLATILE.sub(mask, message)


def failure_signature(item: Failure) -> str | None:
    """What makes two captures the same failure: agent, tool, error type and the error message, masked. None when
    there is no error to go by (free-text reports are matched by similarity instead). Changing it needs a
    migration that signs the stored incidents again (0006 did)."""
    if not (item.error_type or item.error_message):
        return None
    message = " ".join(mask_volatile((item.error_message or "").lower()).split())
    key = "\x1f".join([item.agent or "", item.tool or "", item.error_type or "", message])
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]
