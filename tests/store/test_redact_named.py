"""Secrets a variable's name or a sentence says are one, in the shapes the held-out carriers showed kept in clear
(`AZURE_STORAGE_KEY=<key>`, "password was set to X"), and the look-alikes of normal agent logs that must stay."""

import pytest

from agent_postmortem.store.redact import redact

# Made-up values in the providers' shapes, assembled here so no scanner reads them as leaked keys.
STORAGE_KEY = "Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5QWJDZEVm" + "R2hJaktMbU5vUHFSc1R1VnhZeg0123456789abcdefAB=="
TOKEN = "Zk8sLq2Vn5Rt7Wx1" + "Yb4Cd6Fg"
PASSWORD = "Tr0ub4dor&3"


@pytest.mark.parametrize(
    ("text", "secret"),
    [  # each value was stored in clear: "KEY" alone is no credential word, and a name that goes on after its
        # credential word (DB_PASSWORD_PROD) did not end in one
        (f"AZURE_STORAGE_KEY={STORAGE_KEY}", STORAGE_KEY),
        (f"AZURE_STORAGE_KEY=/{STORAGE_KEY[1:]}", STORAGE_KEY[1:]),  # base64 starts with / one time in 64
        (f"export AZURE_STORAGE_KEY='{STORAGE_KEY}'\naz storage blob list", STORAGE_KEY),
        (f"services:\n  api:\n    environment:\n      STORAGE_ACCOUNT_KEY: {TOKEN}", TOKEN),
        (f'{{"storageKey": "{TOKEN}", "container": "runs"}}', TOKEN),
        (f"  - LICENSE_KEY=AB12-CD34-EF56-GH78-{TOKEN[:4].upper()}", "AB12-CD34-EF56-GH78"),
        ("SUBSCRIPTION_KEY=0123456789abcdef0123456789abcdef", "0123456789abcdef0123456789abcdef"),
        (f"APP_KEY=base64:{TOKEN}", TOKEN),
        (f"STORAGE_KEY_PROD={TOKEN}", TOKEN),
        (f"DB_PASSWORD_PROD={PASSWORD}", PASSWORD),
        (f'GITHUB_TOKEN_RW="{TOKEN}"', TOKEN),
        (f"stripe_secret_live: {TOKEN}", TOKEN),
    ],
    ids=["azure", "azure-slash", "export", "compose", "json-camel", "license", "hex", "laravel", "key-qualified"]
    + ["password-qualified", "token-qualified", "secret-qualified"],
)
def test_a_variable_named_for_a_credential_loses_its_value(text: str, secret: str) -> None:
    redacted = redact(text)
    assert secret not in redacted and secret[:8] not in redacted, redacted


@pytest.mark.parametrize(
    "text",
    [  # names that hold KEY or TOKEN without naming a credential, and values that are no secret under such a name
        "KEY_COUNT=3",
        "MONKEY=banana",
        "SORT_KEY=name",
        "primary_key=id",
        "TOKEN_LIMIT=4096",
        "max_tokens=256",
        "keyboard=us",
        "PARTITION_KEY=tenant_id_2026_11_01_eu_west",
        "CACHE_KEY=Users:v2:Page-3:2026-11-01",
        "ROW_KEY=Order-2026-11-01-000123456",
        "const STORAGE_KEY = 'todos-vuejs-2026'",
        "STORAGE_KEY = settings.AZURE_STORAGE_KEY_V2",
        "KMS_KEY=arn:aws:kms:eu-west-1:123456789012:key/Ab12",
        "SSH_KEY=/home/agent/.ssh/id_ed25519_Deploy",
        "SIGNING_KEY_FILE=/run/secrets/signing_key",
        "DB_PASSWORD_FILE=/run/secrets/db_password",
        "TOKEN_URL=https://auth.example.com/oauth2/token",
        "API_KEY_ID=AKIDa1b2c3d4e5f6g7h8",
        "TENANT_KEY=3f2b8c1e-9d4a-4e7b-8a6f-0c1d2e3f4a5b",
        "GPG_KEY=0123456789ABCDEF0123456789ABCDEF01234567",
        "TOKEN_EXPIRY=3600",
        "SECRET_NAME=prod-db-credentials-2026",
        "publicKey: ssh-ed25519",
        "idempotency_key=9f8a7b6c-1d2e-4f3a-8b9c-0d1e2f3a4b5c",
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",  # a header: `api_key_header` reads those, with its exceptions
    ],
)
def test_a_name_that_only_looks_like_a_credential_keeps_its_value(text: str) -> None:
    assert redact(text) == text


@pytest.mark.parametrize(
    ("text", "secret"),
    [  # "the password is X" was the only phrase read, and only with a digit, a symbol or an inner capital in X
        (f"the password was set to {PASSWORD}", PASSWORD),
        (f"Ticket note: password was set to {PASSWORD} by the onboarding agent", PASSWORD),
        (f"password changed to {PASSWORD} yesterday", PASSWORD),
        (f"please set the password to {PASSWORD}", PASSWORD),
        (f"I set the admin password to {PASSWORD} and left", PASSWORD),
        (f"changed the password for alice to {PASSWORD}", PASSWORD),
        (f"its password is now {PASSWORD}", PASSWORD),
        (f"the password has been reset to {PASSWORD}.", PASSWORD),
        ("the password is sunshine", "sunshine"),
        ("User: the password is sunshine, please fix it", "sunshine"),
        ("the password was set to dragonfly.", "dragonfly"),
        ("I set the admin password to letmein and left", "letmein"),
        ("its password is now Butterfly", "Butterfly"),
        ("password changed to monkey", "monkey"),
        ("pw: sunshine", "sunshine"),
        (f"pw: {PASSWORD}", PASSWORD),
    ],
    ids=["set-to", "held-out", "changed-to", "set-the", "set-admin", "for-user", "is-now", "reset-to", "plain"]
    + ["plain-comma", "plain-set", "plain-set-the", "plain-now", "plain-changed", "pw-plain", "pw"],
)
def test_a_password_told_in_prose_is_redacted(text: str, secret: str) -> None:
    redacted = redact(text)
    assert secret not in redacted and "[REDACTED:" in redacted, redacted


@pytest.mark.parametrize(
    "text",
    [  # sentences about a password that tell none
        "the password was reset",
        "password is required",
        "password to the admin panel was rotated",
        "the password is incorrect",
        "the password is required for sudo",
        "the password is always the same",
        "the password was reset to default",
        "set the password to expire in 90 days",
        "set the password to expire.",
        "password changed to something else",
        "the password is too short",
        "the password is hashed.",
        "the password is weak",
        "the password has been changed.",
        "your password is invalid, try again",
        "the password is now stored in the vault",
        "the password is now required",
        "we rotated the password to the admin panel",
        "update the password to match the policy",
        "Passwort ist falsch",
        "first pass: skipped",
        "pw: none",
        "password reset link sent to the customer; the agent never saw the password",
    ],
)
def test_a_sentence_about_a_password_that_tells_none_is_kept(text: str) -> None:
    assert redact(text) == text
