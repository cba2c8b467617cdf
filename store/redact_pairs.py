"""A name and its value on two lines: the rules find such a secret only when the line break between them is read
as a space or as nothing.

`password:` then the value alone on the next line (YAML, and logs that print a field per line),
`aws_secret_access_key = ` then the key, `X-Api-Key:` then the key under a prefix (`> `, `[pod/…] `), and a URL cut
before or after the `:` of its password (`postgres://admin` then `:password@host/db`). `joiner` says how such a line
end is read (a space between a name and its value, nothing inside a URL); `value_ok` whether what the rules found
right after it is a value: a pair's value is alone on its line and looks like a credential (`if password:` then
`return`, `password:` then `min_length: 8` or `"Enter your password"` are not).
"""

import re

from agent_postmortem.store.redact_checks import credential_like
from agent_postmortem.store.redact_rules import CREDENTIAL_NAME, HINTS

_IS_WORDS = ("is", "was", "ist", "war", "es", "est", "era", "é")  # "the password is" (as password_prose reads it)
# a line that ends with a name holding a credential word and its separator (`password:`, `"api_key" =`), with
# an authorization scheme (`Authorization: Bearer`), or with "is" after a credential word ("the secret key is")
_WORDS = "|".join(re.escape(hint) for hint in (*HINTS["password_pair"], "auth", "bearer"))
_NAME_AT_END = re.compile(
    rf"(?i)(?:(?:{_WORDS})[^\s=:＝：]{{0,40}}[ \t]*(?:=>|[=:＝：])"
    r"|\bbearer|authorization[\"'`]?[ \t]*[:=][ \t]*[\"'`]?[a-z][a-z0-9-]{1,30}"
    rf"|(?:{_WORDS})\w*(?:[ \t]+\w+){{0,2}}[ \t]+(?:{'|'.join(_IS_WORDS)}))\Z"
)
# a URL cut in its credentials: the line ends with its user name (the next starts with `:`), or with the `:` after it
_URL_USER_AT_END = re.compile(r"(?i)\b[a-z][a-z0-9+.-]*://[^\s:/@\"'`]*(:?)\Z")
_LAST_CHARS = frozenset(":=>：＝")  # a line whose last character is one of these may end with a name

# kinds whose rule needs a name before the value: only those are found anew when a break is read as a space
_NAMED = frozenset(
    {
        "password_pair", "password_prose", "api_key_header", "authorization_header", "bearer_token",
        "basic_auth_header", "aws_secret_access_key", "azure_storage_key", "connection_string", "url_credentials",
        "cli_password",
    }
)  # fmt: skip
_WORD_NAMED = frozenset({"password_pair", "password_prose", "api_key_header", "cli_password"})
_ALONE = re.compile(r"\\{0,3}[\"'`]?[)\]},;]{0,3}[ \t]*(?:\n|\\{1,3}[rn]|\Z)")  # the value ends its line (or a call)
_NAME_NEXT = re.compile(r"[A-Za-z_][\w.-]*[ \t]*(?:=|:(?:\s|\Z))")  # the next line is a pair itself (`host: x`)


_SCHEME_OR_URL = re.compile(r"(?i)bearer|authorization|://")
_IS_ENDINGS = tuple(f" {word}" for word in _IS_WORDS)


def scheme_or_url(text: str) -> bool:
    """Whether a text names an authorization scheme or holds a URL (a line may then end with a scheme or a user)."""
    return _SCHEME_OR_URL.search(text) is not None


def could_join(text: str, line_start: int, line_end: int, *, scheme_or_url: bool) -> bool:
    """Whether a line may end with a name or a URL's user (a quick look, before `joiner`)."""
    end = line_end
    while end > line_start and text[end - 1] in " \t":
        end -= 1
    last = text[end - 1 : end]
    if last in _LAST_CHARS or text.endswith(_IS_ENDINGS, line_start, end):
        return True
    return scheme_or_url and last.isalnum() and _word_at_end(text[max(line_start, end - 120) : end])


def joiner(text: str, line_start: int, line_end: int, next_at: int) -> str | None:
    """How the break between a line (`line_start`…`line_end`) and the next line's content (at `next_at`) is read
    when the line ends with a name or a URL's user: a space, nothing, or None when it ends with neither."""
    tail = text[max(line_start, line_end - 120) : line_end].rstrip(" \t")
    if not tail or not (tail[-1] in _LAST_CHARS or text.startswith(":", next_at) or _word_at_end(tail)):
        return None
    url = _URL_USER_AT_END.search(tail)
    if url is not None:
        return "" if bool(url.group(1)) != text.startswith(":", next_at) else None
    return " " if _NAME_AT_END.search(tail) and not _NAME_NEXT.match(text, next_at) else None


def _word_at_end(tail: str) -> bool:
    """A line ending with a word that a value may follow on the next line: a scheme, "is"; or a URL's user."""
    lowered = tail.lower()
    if lowered.rpartition(" ")[2] in _IS_WORDS:
        return True
    return "bearer" in lowered or "authorization" in lowered or "://" in lowered


_COOKIE_HEADER = re.compile(r"(?i)\b(?:set-)?cookie[\"'`]?[ \t]*:")
_COOKIE_CUT = re.compile(r"[\w.+/%;= -]")  # the last character of a cookie header's line that a wrap cut
_COOKIE_GOES_ON = re.compile(r"(?:;? |=)?[^\s\"'`\\;=:]+(?:[=;\n\\]|\Z)")  # the rest of a name, or of a value


def cookie_goes_on(text: str, line_start: int, line_end: int, next_at: int, *, in_header: bool) -> bool:
    """Whether a cookie header (on this line, or `in_header` that the lines before started) goes on at `next_at`:
    the line ends inside a cookie, after its `=` or its `;`, and the next starts with the rest of a name, or of a
    value (`csrf_tok` then `en=…`, `theme=dark;` then ` _ga=…`); not with a header (`Host: …`)."""
    if not (in_header or _COOKIE_HEADER.search(text, line_start, line_end)):
        return False
    if not _COOKIE_CUT.match(text, line_end - 1):
        return False
    return _COOKIE_GOES_ON.match(text, next_at) is not None


def value_ok(text: str, kind: str, end: int, value: str) -> bool:
    """Whether `value`, found by a rule of `kind` right after a name's line and ending at `end`, is one: a value a
    name before it defines, alone on its line and like a credential when only a word names it."""
    if kind not in _NAMED:
        return False
    if kind not in _WORD_NAMED:
        return True
    return (
        credential_like(value)
        and not value.endswith(":")
        and not any(c.isspace() for c in value)
        and _ALONE.match(text, end) is not None
    )


# A YAML block scalar named for a credential (`password: |`, `api_key: >-`, `client_secret: |2  # note`): its value
# is the lines after it indented more than the name, which no pair rule sees (the indicator stands where they read it).
_BLOCK_INDICATOR = re.compile(r":[ \t]*[|>][1-9+-]{0,2}[ \t]*(?:#[^\n]*)?$", re.MULTILINE)
_BLOCK_NAME = re.compile(rf"(?i)([ \t]*(?:-[ \t]+)?)[\"']?[\w.-]*?{CREDENTIAL_NAME}[\"']?[ \t]*")
_SENTENCE_END = (".", "!", "?", ":")


def block_spans(text: str) -> list[tuple[int, int]]:
    """The values of YAML block scalars named for a credential, from the first character of the value to the end of
    its last line: a value of one or more pieces without spaces that looks like a credential, or a passphrase (a
    line of at most six words, not a sentence); not a prose value (an i18n message) nor a single word."""
    spans = []
    for header in _BLOCK_INDICATOR.finditer(text):
        line_start = text.rfind("\n", 0, header.start()) + 1
        name = _BLOCK_NAME.fullmatch(text, line_start, header.start())
        if name is None:
            continue
        column, first, last, at = len(name.group(1)), -1, -1, header.end() + 1
        while at < len(text):
            end = text.find("\n", at)
            end = len(text) if end < 0 else end
            line = text[at:end]
            content = at + len(line) - len(line.lstrip(" \t"))
            if content < end:
                if content - at <= column:
                    break
                first, last = (content if first < 0 else first), end
            at = end + 1
        if first >= 0 and _credential_block(text[first:last].split("\n")):
            spans.append((first, last))
    return spans


def _credential_block(lines: list[str]) -> bool:
    pieces = [line.strip() for line in lines if line.strip()]
    if all(" " not in piece and "\t" not in piece for piece in pieces):
        return credential_like("".join(pieces))
    words = " ".join(pieces).split()
    return len(pieces) == 1 and len(words) <= 6 and len(pieces[0]) >= 8 and not pieces[0].endswith(_SENTENCE_END)


# GitHub Actions with step debug logging prints each expression it evaluates and its result (`##[debug]Evaluating:
# steps.app-token.outputs.token`, then `##[debug]=> '…'` and `##[debug]Result: '…'`): the runner masks the secrets
# it was given, not a step's output, nor a field read out of a secret (`fromJSON(secrets.DB).password`).
_EVALUATING = re.compile(r"Evaluating: ([^\n]*)")
_CREDENTIAL_EXPRESSION = re.compile(rf"(?i)(?:\bsecrets\.[\w-]+|(?<![\w-])[\w-]*{CREDENTIAL_NAME})[\]'\")]*[ \t]*\Z")
_RESULT = re.compile(r"(?i)\bresult: ([\"'])((?:(?!\1)[^\n])+)\1")


def actions_result_spans(text: str) -> list[tuple[int, int]]:
    """The results of expressions named for a credential in an Actions debug log, where they are printed (the
    final `=> '…'` and `Result: '…'`), up to the next expression; a masked one (`***`) is left."""
    spans = []
    evaluations = list(_EVALUATING.finditer(text))
    for at, evaluating in enumerate(evaluations):
        if not _CREDENTIAL_EXPRESSION.search(evaluating.group(1)):
            continue
        until = evaluations[at + 1].start() if at + 1 < len(evaluations) else len(text)
        result = _RESULT.search(text, evaluating.end(), until)
        if result is None or set(result.group(2)) == {"*"}:
            continue
        quoted = result.group(1) + result.group(2) + result.group(1)
        start = text.find(quoted, evaluating.end(), result.end())
        while start >= 0:
            spans.append((start + 1, start + len(quoted) - 1))
            start = text.find(quoted, start + len(quoted), result.end())
    return spans
