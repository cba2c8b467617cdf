"""A secret wrapped over two lines (a terminal, a log viewer or a mail client cut it at its width) is redacted
whole; the next line of a config file, a word after an address and numbers on two lines are left alone."""

import pytest

from agent_postmortem.store.redact import redact

# Made-up values in the providers' shapes, assembled here so no scanner reads them as leaked keys.
KEY = "sk-proj-" + "Ab3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5bC7dE9fG1hJ3kL5mN7pQ9rS1tU3vW5"
GHP = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"
WRAPPED_AT_40 = "\n".join(("Authorization: Bearer " + KEY)[i : i + 40] for i in range(0, 22 + len(KEY), 40))


@pytest.mark.parametrize(
    ("text", "pieces"),
    [  # the tail of the key was stored as it was, or the whole token when each half was too short for its rule
        ("OPENAI_API_KEY=" + KEY[:40] + "\n" + KEY[40:], [KEY[:40], KEY[40:]]),
        ("OPENAI_API_KEY=" + KEY[:40] + "\r\n" + KEY[40:], [KEY[40:]]),
        ("Authorization: token " + GHP[:20] + "\n" + GHP[20:] + "\nnext line", [GHP[:20], GHP[20:]]),
        (WRAPPED_AT_40, [KEY[18:58], KEY[58:]]),
        ("please email the on-call lead jane.doe@exam\nple.com", ["jane.doe", "ple.com"]),
    ],
)
def test_a_secret_wrapped_over_lines_is_redacted_whole(text: str, pieces: list[str]) -> None:
    redacted = redact(text)
    assert "[REDACTED:" in redacted
    assert not [piece for piece in pieces if piece in redacted], redacted


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ("OPENAI_API_KEY=" + KEY + "\nDB_HOST=localhost", "\nDB_HOST=localhost"),
        ("please email the on-call lead at jane@example.com\nfor access", "\nfor access"),
        ("Authorization: token " + GHP + "\nnext line of the log", "\nnext line of the log"),
        ("the batch failed for 3 customers and 1234\n5678 requests were retried", "1234\n5678 requests"),
        ("see https://docs.python.org/3/library/re.html\nfor the details", "re.html\nfor the details"),
    ],
)
def test_the_line_after_a_secret_and_text_that_only_ends_a_line_are_kept(text: str, kept: str) -> None:
    assert kept in redact(text)


def _fold(text: str, width: int, prefix: str = "") -> str:
    """What `fold -w width` (or a terminal that wide) makes of `text`, each line then given `prefix` (in which
    `{n}` is the line's number and `{f}` a fraction of a second as Go prints it, without its trailing zeros)."""
    lines = [line[i : i + width] for line in text.split("\n") for i in range(0, max(len(line), 1), width)]
    return "\n".join(prefix.format(n=n, f=str(123456789 // 10**n)) + line for n, line in enumerate(lines))


JWT = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9." + "eyJzdWIiOiJ1c2VyLTQyIiwiZXhwIjoxNzk5OTk5OTk5fQ" + "." + "Q7r8" * 10
SESSION = "$ ./deploy.sh --verbose\nAuthorization: Bearer " + KEY + "\nOPENAI_API_KEY=" + GHP + "\nexit 1"


@pytest.mark.parametrize(
    ("text", "secrets"),
    [  # each piece after the first was stored as it was: the break was under 32 columns, or the next line had a prefix
        (_fold(SESSION, 24), [KEY, GHP]),  # a narrow pane, or `fold -w 24`
        (_fold("token " + JWT + " rejected", 30), [JWT]),
        (_fold("ping the owner at jane.doe-ops@example.com today", 20), ["jane.doe-ops@exa"]),
        (_fold(SESSION, 72, "> "), [KEY]),  # a terminal paste quoted in a reply
        (_fold(_fold(SESSION, 40, "> "), 200, "> "), [KEY, GHP]),  # quoted twice
        (_fold(SESSION, 60, "[pod/api-7d9f8c-x2k4q/app] "), [KEY]),  # kubectl logs --prefix
        (_fold(SESSION, 60, "api-1  | "), [KEY]),  # docker compose logs
        (_fold(SESSION, 50, "    "), [KEY]),  # an indented block
        (_fold(SESSION, 40, "2026-12-01T10:00:0{n}Z "), [KEY, GHP]),  # a log viewer's time on each line
        (_fold(SESSION, 40, "[10:00:0{n}] "), [KEY, GHP]),
        (_fold(SESSION, 40, "api-1  | 2026-12-01T10:00:00.{f}Z "), [KEY, GHP]),  # docker compose logs --timestamps
        (
            _fold(
                "$ cat ~/.aws/credentials\naws_secret_access_key = " + "tXP+tKsf2rcDkdfrUnW5gcF/Ha6ili8GjHEAD6+W", 16
            ),
            ["tXP+tKsf2rcDkdfrUnW5gcF/Ha6ili8GjHEAD6+W"],
        ),  # the name cut too
        ('{"stdout": "' + _fold(SESSION, 40).replace("\n", "\\n") + '"}', [KEY, GHP]),  # a JSON string
    ],
    ids=[
        *("fold24", "jwt30", "email20", "quoted", "quoted-twice", "kubectl", "compose", "indented"),
        *("timestamped", "clock", "compose-timestamps", "aws16", "json"),
    ],
)
def test_a_secret_wrapped_narrow_or_with_a_prefix_on_each_line_is_redacted_whole(text: str, secrets: list[str]) -> None:
    redacted = redact(text)
    pieces = [s[i : i + 8] for s in secrets for i in range(0, len(s) - 7)]
    assert not [p for p in pieces if p in redacted], redacted


def test_a_private_key_wrapped_narrow_through_its_header_is_redacted_whole() -> None:
    body = ["MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7" + "x" * 12, "Zm9vYmFyYmF6cXV4c2VjcmV0a2V5" * 2]
    pem = "-----BEGIN RSA PRIVATE KEY-----\n" + "\n".join(body) + "\n-----END RSA PRIVATE KEY-----"
    redacted = redact(_fold("$ cat id_rsa\n" + pem + "\n$ ", 24))
    assert "Zm9vYmFy" not in redacted and "MIIEvQIB" not in redacted, redacted


def test_a_short_last_piece_that_ends_its_line_goes_with_the_key() -> None:
    line = "export OPENAI_API_KEY=" + KEY
    redacted = redact(_fold("$ env\n" + line + "\n$ ", len(line) - 3))  # "vW5" alone on the next line
    assert "vW5" not in redacted and "[REDACTED:openai_key]" in redacted, redacted


def test_a_secret_right_after_an_escaped_line_break_in_a_json_string_is_redacted() -> None:
    # "\nsk-…": the "n" of the escape glued to the key, so no rule saw it start; an address took the "n" along
    text = '{"stdout": "keys:\\n' + KEY + "\\nthen\\n" + GHP + '\\nmail jane@example.com\\njane@example.com"}'
    redacted = redact(text)
    assert KEY[:20] not in redacted and GHP[:20] not in redacted and "jane@" not in redacted, redacted
    assert redacted.count("\\n") == 5 and "\\[" not in redacted, redacted


@pytest.mark.parametrize(
    "text",
    [
        _fold("please write to the on-call lead, she will answer within the hour", 20),  # narrow prose
        _fold("DB_HOST=localhost\nDB_PORT=5432\nDB_NAME=orders\nLOG_LEVEL=debug", 16),
        "0123456789abcdef0123456789abcdef01234567\n89abcdef0123456789abcdef0123456789abcdef\n",  # commit shas
        "f47ac10b-58cc-4372-a567-0e02b2c3d479\n6ba7b810-9dad-11d1-80b4-00c04fd430c8\n",
        "> the clients send (Authorization: Bearer\n> ...) with each request",
        "> a key such as `AccountKey=` (ones cut short too); URL\n> signatures (`sig=`) and the like",
        "> way to do that is to send mail to\n> bug-report@example.org including the version",
        "Bruce Cutler    \ncutlerbc@example.colostate.edu\nBenno Schulenberg",
        "api-1  | def connect(url: str, token: str\napi-1  |  | None = None) -> None:",
        "            if plugin.matches(line):\n                has_secret = True\n                yield secret",
        "> The default is that root's password is always\n> acceptable. Any other user must be listed.",
        "Ralf Lofaro     \nftlofaro@snooks.Egr.UNLV.EDU\nFred Fish",
    ],
    ids=[
        *("prose", "config", "shas", "uuids", "ellipsis", "backticks", "mail-to", "names", "compose-code"),
        *("indented-code", "quoted-prose", "all-caps-domain"),
    ],
)
def test_narrow_prose_config_hashes_and_quoted_text_are_not_joined(text: str) -> None:
    redacted = redact(text)
    kept = [line for line in text.split("\n") if "@" not in line]  # an address is redacted, its neighbours not
    assert all(line in redacted for line in kept), redacted


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ("please email the on-call lead at jane@example.com.\nThanks, Bob", ".\nThanks, Bob"),
        ("2026-12-06 10:00:00 DEBUG key " + KEY[:50] + "\n2026-12-06 10:00:01 INFO ok", "\n2026-12-06 10:00:01"),
        ("2026-12-06T10:00:00Z key " + KEY + "\n2026-12-06T10:00:01Z 8f3a2b1c9d0e4f5a done", "Z 8f3a2b1c9d0e4f5a"),
    ],
)
def test_the_line_after_a_value_that_ends_a_sentence_or_a_log_record_is_kept(text: str, kept: str) -> None:
    assert kept in redact(text)


def test_a_wrapped_connection_string_loses_its_whole_password() -> None:
    # the password's pieces were caught by two rules (the URL's, and an address "…@db.internal"): the span found
    # first was replaced and the rest of the other one kept
    password = "afq0fjzLczbttOofL9H2"
    for width in (20, 30, 40):
        redacted = redact(_fold(f"$ psql\npostgres://admin:{password}@db.internal:5432/app\n$ ", width))
        assert not [password[i : i + 6] for i in range(len(password) - 5) if password[i : i + 6] in redacted], redacted


def test_a_wrapped_address_given_as_a_credential_is_redacted_to_its_end() -> None:
    # the value's first piece was found as a credential, the whole address only across the break: the first span
    # replaced was the shorter one and the rest of the address ("orp.pagerduty.com") was kept
    text = _fold("$ env\nexport ALERTS_API_KEY=svc-7f3a9c2b@acme-corp.pagerduty.com\n$ ", 40)
    redacted = redact(text)
    assert "pagerduty.com" not in redacted and "svc-7f3a" not in redacted, redacted


COOKIE = "Cookie: sid=Zx81kPq2LmN0aB7c; theme=dark; csrf_token=" + "Hq8Lm2Nv5Rt1Wx3Yz7Ab9Cd; _ga=GA1.2.1234567.8901234"


@pytest.mark.parametrize("width", [20, 23, 26, 29, 38, 41, 47, 50, 53])
def test_a_cookie_header_wrapped_inside_a_name_or_at_its_separators_is_redacted_whole(width: int) -> None:
    # cut inside a name ("csrf_tok" / "en=…") the rest read as a config line and its value was kept; cut at "; " or
    # right before a ";" or after a "=", the cookies on the next lines were kept
    redacted = redact(_fold("$ curl -v\n" + COOKIE + "\n$ ", width))
    assert "Hq8Lm2Nv" not in redacted and "1234567" not in redacted, redacted


def test_the_line_after_a_cookie_header_is_kept() -> None:
    text = "$ curl -v\nCookie: sid=abc123XYZ\nDB_HOST=localhost\n> Cookie: a=b1234567\n> User-Agent: curl/8.5.0"
    redacted = redact(text)
    assert "\nDB_HOST=localhost\n" in redacted and "\n> User-Agent: curl/8.5.0" in redacted, redacted


@pytest.mark.parametrize(
    "prefix",
    [
        "Dec  6 10:00:0{n} web01 app[123]: ",  # RFC 3164 (syslog, journalctl's short form)
        "<34>Dec  6 10:00:0{n} web01 app: ",
        "<34>1 2026-12-06T10:00:0{n}Z web01 app 123 - - ",  # RFC 5424
        '<165>1 2026-12-06T10:00:0{n}.{f}+01:00 web01.example.com app - ID47 [exampleSDID@32473 iut="3"] ',
    ],
    ids=["rfc3164", "rfc3164-priority", "rfc5424", "rfc5424-structured-data"],
)
def test_a_secret_wrapped_over_syslog_lines_is_redacted_whole(prefix: str) -> None:
    # each piece after the first was stored as it was: the host and program after the time were not read as a prefix
    redacted = redact(_fold(SESSION, 40, prefix))
    pieces = [s[i : i + 8] for s in (KEY, GHP) for i in range(0, len(s) - 7)]
    assert not [p for p in pieces if p in redacted], redacted


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        (
            "Dec  6 10:00:00 web01 app[123]: key " + KEY + "\nDec  6 10:00:01 web01 cron[9]: 8f3a2b1c9d0e4f5a done",
            "cron[9]: 8f3a2b1c9d0e4f5a done",
        ),
        (
            "Dec  6 10:00:00 web01 app[123]: key " + KEY + "\nDec  6 10:00:01 web01 app[123]: request 8f3a2b1c9d0e",
            "app[123]: request 8f3a2b1c9d0e",
        ),
        ("Dec  6 10:00:00 web01 app[123]: user jane\nDec  6 10:00:01 web01 app[123]: logged in", "jane\nDec"),
    ],
    ids=["other-program", "next-record", "words"],
)
def test_the_next_syslog_record_after_a_key_is_kept(text: str, kept: str) -> None:
    assert kept in redact(text)


NOTES = "$ cat notes.txt\nsee https://status.example.com/" + "incidents/payments-rollback-review/" * 5


@pytest.mark.parametrize("tail", ["abc", "Xq", "K", "ZZTop", "Thanks"])
def test_a_letters_only_last_piece_goes_with_the_key_when_its_line_is_cut_at_the_width_of_the_text(tail: str) -> None:
    # the last piece was stored in clear: letters only and under 8 characters, it was read as a word on the next line
    line = "export OPENAI_API_KEY=" + KEY + tail
    text = _fold("$ env\n" + line + "\n" + NOTES + "\n$ ", len(line) - len(tail))  # the URL is cut at that width too
    redacted = redact(text)
    assert "\n" + tail + "\n" not in redacted and "[REDACTED:openai_key]\n$ cat" in redacted, redacted


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ("$ cat > .env <<EOF\nOPENAI_API_KEY=" + KEY + "\nEOF\n$ ", "\nEOF\n"),  # a heredoc's end
        ("Here is the key you asked for:\n" + KEY + "\nThanks\nBob", "\nThanks\nBob"),
        ("for i in 1 2; do\n  curl -H 'x' -u admin:" + KEY + "\ndone", "\ndone"),
        (_fold(NOTES, 60) + "\nOPENAI_API_KEY=" + KEY + "\nfi", "\nfi"),  # other lines cut at 60, not this one
        ("2026-12-06T10:00:00Z key " + KEY + "\n2026-12-06T10:00:01Z done\n2026-12-06T10:00:02Z " + KEY, "Z done\n"),
    ],
    ids=["heredoc", "sign-off", "loop", "other-width", "log-record"],
)
def test_a_word_on_the_line_after_a_key_is_kept(text: str, kept: str) -> None:
    redacted = redact(text)
    assert kept in redacted and KEY[-8:] not in redacted, redacted
