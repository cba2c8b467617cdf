"""A password in a URL is replaced, not the host after it: an engineer can still tell which database it was."""

import pytest

from agent_postmortem.store.redact import redact


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "https://deploy:hunter2@db.internal.example/x",
            "https://deploy:[REDACTED:url_credentials]@db.internal.example/x",
        ),
        (
            "git push https://bot:Sup3rS3cretPassw0rd@git.example.com:8443/org/repo.git failed",
            "git push https://bot:[REDACTED:url_credentials]@git.example.com:8443/org/repo.git failed",
        ),
        (
            "postgres://deploy:hunter2@db.internal.example:5432/orders",
            "postgres://deploy:[REDACTED:connection_string]@db.internal.example:5432/orders",
        ),
        (
            '["https://deploy:hunter2@db.internal.example", "ops@example.com"]',
            '["https://deploy:[REDACTED:url_credentials]@db.internal.example", "[REDACTED:email]"]',
        ),
    ],
)
def test_a_url_keeps_its_host_when_its_password_is_redacted(text: str, expected: str) -> None:
    assert redact(text) == expected


@pytest.mark.parametrize("scheme", ["https", "postgresql", "amqp"])
def test_a_password_holding_at_signs_and_colons_is_redacted_whole(scheme: str) -> None:
    redacted = redact(f"connect {scheme}://deploy:p@ss:w0rd@db.internal.example/x refused")
    kind = "url_credentials" if scheme == "https" else "connection_string"
    assert redacted == f"connect {scheme}://deploy:[REDACTED:{kind}]@db.internal.example/x refused"


@pytest.mark.parametrize(
    ("url", "kept"),
    [
        ("postgres://admin:s3cr3tP@ss!@db:5432/prod", "@db:5432/prod"),
        ("redis://:hunter@2#x@cache:6379", "@cache:6379"),
        ("mysql://app:p@ss$word@db.internal/x", "@db.internal/x"),
        ("amqp://u:a@b(c)@mq:5672", "@mq:5672"),
    ],
)
def test_a_password_whose_at_sign_is_followed_by_punctuation_is_redacted_whole(url: str, kept: str) -> None:
    """The host after a URL password's @ was any run of host characters with no @ after it, so in
    'p@ss!@db' the '!' ended the check at the first @ and '@ss!' was stored in clear."""
    redacted = redact(f"connect {url} refused")
    assert redacted.endswith(f"{kept} refused") and "ss!" not in redacted and "#x" not in redacted, redacted
    assert "$word" not in redacted and "b(c)" not in redacted, redacted


@pytest.mark.parametrize(
    ("url", "key"),
    [  # the error an HTTP client raises for a failed call names the whole URL, query and all
        ("https://api.openweathermap.org/data/2.5/weather?q=London&appid=", "b1b15e88fa797225412429c1c50c122a"),
        ("https://orders-fn.azurewebsites.net/api/refund?code=", "aBcD3fGh1jKlMn0pQrStUvWxYz0123456789abcdEFGH=="),
    ],
)
def test_an_api_key_passed_in_a_url_query_is_redacted(url: str, key: str) -> None:
    """A weather tool's `raise_for_status()` ("429 Too Many Requests for url '...&appid=KEY'") and an Azure Function
    called with its `code=` key stored the key in clear, in the message and in the stack trace."""
    redacted = redact(f"Client error '429 Too Many Requests' for url '{url}{key}'")
    assert key not in redacted and key[:10] not in redacted and f"{url}[REDACTED:" in redacted


def test_a_short_code_in_a_url_query_is_kept() -> None:
    assert (
        redact("GET https://shop.example/search?code=FR75&q=shoes")
        == "GET https://shop.example/search?code=FR75&q=shoes"
    )
