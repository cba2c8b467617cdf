"""A name and its value on two lines (a break at a space, or before or after a `:`) lose the value; code, schemas,
prompts and config lines after a name are left alone."""

import pytest

from agent_postmortem.store.redact import redact

# Made-up values in the providers' shapes, assembled here so no scanner reads them as leaked keys.
AWS_SECRET = "tXP+tKsf2rcDkdfrUnW5" + "gcF/Ha6ili8GjHEAD6+W"
TOKEN = "Zk8sLq2Vn5Rt7Wx1" + "Yb4Cd6Fg"
PASSWORD = "hunter2!Secret"


@pytest.mark.parametrize(
    ("text", "secret"),
    [  # each value was stored in clear: no rule reads a name on one line with its value on the next
        (
            "[default]\naws_access_key_id = AKIA" + "IOSFODNN7EXAMPLE\naws_secret_access_key = \n"
            f"{AWS_SECRET}\nregion = us-east-1",
            AWS_SECRET,
        ),
        (f"$ psql postgres://admin\n:{PASSWORD}@db.internal:5432/app", PASSWORD),
        (f"DATABASE_URL=postgres://admin:\n{PASSWORD}@db.internal:5432/app", PASSWORD),
        (f"> Authorization: Bearer\n> {TOKEN}", TOKEN),
        (f"[pod/api-7d9f/app] X-Api-Key:\n[pod/api-7d9f/app]   {TOKEN}", TOKEN),
        (f"db:\n  user: admin\n  password:\n    {PASSWORD}\n  host: db.internal", PASSWORD),
        (f"login failed for user admin with password:\n{PASSWORD}\nretrying", PASSWORD),
        (f"settings = Settings(\n    client_secret =\n        {TOKEN}\n)", TOKEN),
        (f"    conn = psycopg.connect(password=\n        '{PASSWORD}')", PASSWORD),
    ],
    ids=[
        *("aws-credentials", "url-before-colon", "url-after-colon", "quoted-bearer", "kubectl", "yaml", "log"),
        *("kwarg", "call"),
    ],
)
def test_a_value_on_the_line_after_its_name_is_redacted(text: str, secret: str) -> None:
    redacted = redact(text)
    assert secret[:8] not in redacted and secret[-8:] not in redacted, redacted


@pytest.mark.parametrize(
    "text",
    [
        "if password:\n    return",
        "if not api_key:\n    raise ValueError('no key')",
        "password:\n  type: string\n  minLength: 8",
        'password:\n  "Enter your password (8+ characters)"',
        "messages:\n  password:\n    Passwort\n  token:\n    Jeton",
        "Enter password:\nLogin incorrect",
        "with:\n  token:\n    ${{ secrets.GITHUB_TOKEN }}",
        "DB_PASSWORD=\nDB_HOST=localhost",
        "see http://docs.example.com:\n8080/guide for the setup",
        "> the clients send (Authorization: Bearer\n> ...) with each request",
        "the secret key is\nstored in the vault, not here",
    ],
    ids=[
        *("python-if", "python-raise", "schema", "prompt", "i18n", "terminal", "actions-expression", "empty-env"),
        *("url-port", "ellipsis", "prose"),
    ],
)
def test_what_follows_a_name_that_is_not_its_value_is_kept(text: str) -> None:
    assert redact(text) == text
