"""Failure signatures: what makes two captures the same failure, and error text with its volatile parts masked.

One masking rule serves both grouping and display. Masked: timestamps as one unit (`TIME`), uuids, long hex ids, and
numbers that stand on their own (a count, a duration, a port, a request number), keeping their unit. Kept: digits inside
a name (`pr0cure-check.io`, `campaign_q4_emea`, `ORA-00942`, `E11000`), because a name with other digits is another
thing and an error code with other digits another error; and an HTTP status (1xx-5xx after "HTTP", "status",
"status_code", "code" or before a reason phrase; a 4xx/5xx also when it opens the message or follows "returned",
"failed"...), because a rate limit and an outage are different failures, as is a redirect; and the version in
"HTTP/1.1". Releases are masked too (`VERSION`: one failure in v1.2.3 and in v1.2.4 is one failure). The price is
that `worker-12` and `worker-13` sign differently: two incidents that similarity search still links into one pattern,
which is cheaper than counting one failure as an occurrence of another.
"""

import hashlib
import re
from typing import Protocol

_FRACTION_ZONE = r"(?:[.,]\d+)?(?!\d)(?:z\b|\s?(?:utc|gmt)\b|\s?[+-](?:0\d|1[0-4])(?::?\d{2})?(?!\d))?"
_CLOCK = rf"\d{{1,2}}:\d{{2}}(?::\d{{2}})?{_FRACTION_ZONE}"
_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?"
    r"|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\b\.?"
)
_WEEKDAY = r"(?:(?:mon|tue|wed|thu|fri|sat|sun)(?:day|sday|nesday|rsday|urday)?\b,?\s+)?"
# A timestamp is one unit: ISO 8601 and what loggers print ("2026-07-01T00:05:14.123Z", "2026-07-01 00:05:14,123",
# "2026/07/01 00:05:14"), syslog and ctime ("Jul  1 00:05:14", "Tue Jul 1 00:05:14 UTC 2026"), HTTP dates and access
# logs ("Tue, 01 Jul 2026 00:05:14 GMT", "01/Jul/2026:00:05:14 +0000"), and a clock time with seconds. A date alone
# is not one: "api-version 2024-06-01" names a version, and another version is another failure.
_TIMESTAMP = (
    rf"(?<![\d:.])\d{{4}}[-/]\d{{2}}[-/]\d{{2}}(?:t|\s+){_CLOCK}"
    rf"|\b{_WEEKDAY}{_MONTH}\s+\d{{1,2}}(?:,?\s+\d{{4}})?\s+{_CLOCK}(?:\s+\d{{4}}\b)?"
    rf"|\b{_WEEKDAY}\d{{1,2}}[\s/-]{_MONTH}[\s/-]\d{{4}}[\s:]{_CLOCK}"
    rf"|(?<![\w:.])\d{{1,2}}:\d{{2}}:\d{{2}}(?!:){_FRACTION_ZONE}"
)
_UNIT = r"(?:ms|s|m|h|k|kb|mb|gb|%)"
# A number right after a timestamp's hyphen ("12:00:00-30 retries"), not an offset from UTC (those are -00 to -14,
# "-05:00", "-0500"): the time is masked and the number is one, as anywhere else. Its hyphen kept it apart from the
# free-standing numbers (as in "worker-12"), so "TIME-30" and "TIME-31" signed as two failures.
_AFTER_TIME = rf"(?:-(?P<after>\d+(?:[.,]\d+)*)(?P<after_unit>{_UNIT})?(?![\w-]|\.\w))?"
_VOLATILE = re.compile(
    rf"(?P<time>{_TIMESTAMP}){_AFTER_TIME}"
    r"|(?P<id>\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b|\b(?=[0-9a-f]*\d)[0-9a-f]{12,}\b)"
    rf"|(?<![\w.-])(?P<number>\d+(?:[.,]\d+)*)(?P<unit>{_UNIT})?(?![\w-]|\.\w)",
    re.IGNORECASE,
)
# A release: three numbers with dots (`1.2.4`), or two to four after a `v` (`v1.2`, `V3.1.0`), with a pre-release
# or build part (`2.0.0-rc1`, `1.2.3+build.7`, `2.0.0rc2`, `1.2.3.dev0`). Not an IPv4 address (four numbers, no `v`),
# a decimal (`1.5`) or HTTP's version (`HTTP/1.1`).
_VERSION = re.compile(
    r"(?<![\w.-])(?:v\d+(?:\.\d+){1,3}|\d+\.\d+\.\d+)(?:(?:a|b|rc)\d+|\.(?:dev|post)\d+)?"
    r"(?:-[0-9a-z]+(?:\.[0-9a-z]+)*)?(?:\+[0-9a-z]+(?:\.[0-9a-z]+)*)?(?![\w-]|\.\w)",
    re.IGNORECASE,
)
_STATUS = re.compile(r"[1-5]\d\d")
_ERROR_STATUS = re.compile(r"[45]\d\d")
# A number is a status only with evidence. Any 1xx-5xx follows a word that names one ("HTTP 301", "HTTP/1.1 302",
# "status 200", "status_code=404", "statusCode: 503", "a status of 404", "code 302") or precedes a reason phrase
# ("301 Moved Permanently"). A 4xx/5xx, an error, may also open the message ("429") or follow a word that reports one
# ("returned 503", "failed: 404"). "rate limit of 500 RPM" is a quota, "after 500 ms" a duration, "returned 200 rows"
# a count.
_NAMES_A_STATUS = re.compile(
    r"(?:\bhttps?(?:/\d(?:\.\d)?)?|status(?:[_ ]?code)?(?:\s+of)?|\bcode)\W{0,3}$", re.IGNORECASE
)
_REPORTS_AN_ERROR = re.compile(
    r"(?:\berror|\breturned|\bgot|\banswered|\bresponded|\bresponse|\bfailed|\bfailure)\W{0,3}$", re.IGNORECASE
)
_REASON_AFTER = re.compile(
    r"\W{0,3}(?:too many requests|internal server error|bad gateway|service unavailable|gateway time-?out|not found"
    r"|forbidden|unauthori[sz]ed|bad request|conflict|request time-?out|unprocessable|payload too large"
    r"|continue\b|switching protocols|ok\b|created\b|accepted\b|no content|moved permanently|found\b"
    r"|see other|not modified|temporary redirect|permanent redirect)",
    re.IGNORECASE,
)
_HTTP_VERSION_BEFORE = re.compile(r"\bhttps?/$", re.IGNORECASE)


def _is_status(message: str, m: re.Match[str]) -> bool:
    if m["unit"] or not _STATUS.fullmatch(m["number"]):
        return False
    before = message[: m.start()]
    if _NAMES_A_STATUS.search(before) or _REASON_AFTER.match(message, m.end()):
        return True
    return bool(_ERROR_STATUS.fullmatch(m["number"]) and (not before.strip() or _REPORTS_AN_ERROR.search(before)))


class Failure(Protocol):
    @property
    def agent(self) -> str | None: ...
    @property
    def tool(self) -> str | None: ...
    @property
    def error_type(self) -> str | None: ...
    @property
    def error_message(self) -> str | None: ...


def mask_volatile(message: str, *, versions: bool = False) -> str:
    """The message with its timestamps, ids and free-standing numbers masked (`TIME`, `ID`, `N`), so that
    occurrences of one failure read alike; names with digits, dates alone and HTTP status codes stay as they are.
    `versions`: releases too (`VERSION`: `v1.2.3`, `1.2.4`, `2.0.0-rc1`), as signatures and text shown grouped (a
    runbook's symptoms) read them."""
    if versions:
        message = _VERSION.sub("VERSION", message)

    def mask(m: re.Match[str]) -> str:
        if m["time"]:
            return "TIME" + (f"-N{m['after_unit'] or ''}" if m["after"] else "")
        if m["id"]:
            return "ID"
        if _is_status(message, m) or _HTTP_VERSION_BEFORE.search(message, 0, m.start()):
            return m[0]  # a status, or the version in "HTTP/1.1"
        return "N" + (m["unit"] or "")

    return _VOLATILE.sub(mask, message)


def failure_signature(item: Failure) -> str | None:
    """What makes two captures the same failure: agent, tool, error type and the error message, masked. None when
    there is no error to go by (free-text reports are matched by similarity instead). Changing it needs a
    migration that signs the stored incidents again (0006, 0009, 0010, 0013 and 0016 did)."""
    if not (item.error_type or item.error_message):
        return None
    message = " ".join(mask_volatile((item.error_message or "").lower(), versions=True).split())
    key = "\x1f".join([item.agent or "", item.tool or "", item.error_type or "", message])
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]
