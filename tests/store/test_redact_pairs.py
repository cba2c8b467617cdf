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


@pytest.mark.parametrize(
    ("text", "secret"),
    [  # the value was stored in clear: its name is a separate key (`name:`), so no pair rule saw a credential word
        ("env:\n  - name: DB_PASSWORD\n    value: s3cr3t\n  - name: LOG_LEVEL\n    value: debug", "s3cr3t"),
        (f'env:\n- name: OPENAI_API_KEY\n  value: "{TOKEN}"\n- name: PORT\n  value: "8080"', TOKEN),
        (f"  - name: 'db_pass'\n    value: '{PASSWORD}'", PASSWORD),
        (f'[{{"name": "STRIPE_SECRET", "value": "{TOKEN}"}}, {{"name": "PORT", "value": "80"}}]', TOKEN),
        (f"env: [{{name: API_TOKEN, value: {TOKEN}}}]", TOKEN),
        (f"[{{Name:AUTH_TOKEN Value:{TOKEN} ValueFrom:nil}}]", TOKEN),  # Go's %+v of a Kubernetes EnvVar
    ],
    ids=["yaml", "yaml-quoted", "single-quoted", "ecs-json", "flow", "go-struct"],
)
def test_the_value_of_an_environment_variable_named_for_a_credential_is_redacted(text: str, secret: str) -> None:
    redacted = redact(text)
    assert secret not in redacted and "[REDACTED:password_pair]" in redacted, redacted


@pytest.mark.parametrize(
    "text",
    [
        "env:\n  - name: DB_PASSWORD\n    valueFrom:\n      secretKeyRef:\n        name: db\n        key: password",
        "env:\n  - name: LOG_LEVEL\n    value: debug\n  - name: PORT\n    value: '8080'",
        'env:\n  - name: API_TOKEN\n    value: "$(TOKEN_FROM_FILE)"',
        "env:\n  - name: DB_PASSWORD\n    value: {{ .Values.db.password }}",
        "- name: token rotation\n  value: nightly",  # a name that is a phrase, not a variable
    ],
    ids=["value-from", "other-names", "dependent-variable", "template", "phrase"],
)
def test_environment_variables_not_holding_a_credential_value_are_kept(text: str) -> None:
    assert redact(text) == text


@pytest.mark.parametrize(
    ("text", "secret", "kept"),
    [  # the value was stored in clear: a block scalar's indicator (`|`, `>-`) stood where a pair rule read the value
        (f"db:\n  password: >-\n    {PASSWORD}\n  host: db.internal", PASSWORD, "  password: >-\n    [RED"),
        (f"db:\n  password: |\n    {PASSWORD}\n\n  host: db.internal", PASSWORD, "]\n\n  host: db.internal"),
        ("pass:\n  passphrase: |-\n    correct horse battery staple\nport: 80", "horse battery", "]\nport: 80"),
        (f"api_key: >\n  {TOKEN[:12]}\n  {TOKEN[12:]}\nother: 1", TOKEN[12:], "]\nother: 1"),  # over two lines
        (f"- name: prod\n  client_secret: |2  # rotated monthly\n     {TOKEN}\n- name: dev", TOKEN, "\n- name: dev"),
        (f'"SECRET_KEY": |+\n  {TOKEN}\n', TOKEN, '"SECRET_KEY": |+\n  [RED'),
    ],
    ids=["folded", "literal", "passphrase", "folded-two-lines", "list-item-comment", "quoted-name"],
)
def test_a_yaml_block_scalar_named_for_a_credential_is_redacted(text: str, secret: str, kept: str) -> None:
    redacted = redact(text)
    assert secret not in redacted and "[REDACTED:password_pair]" in redacted and kept in redacted, redacted


@pytest.mark.parametrize(
    "text",
    [
        "messages:\n  password: |\n    Your password must be at least 8 characters long.\n  token: >-\n    Jeton",
        "steps:\n  - with:\n      token: |\n        ${{ secrets.GITHUB_TOKEN }}",
        "description: |\n  hunter2!Secret is an example\nname: x",  # not named for a credential
        "password: |\nhost: db.internal",  # an empty block
    ],
    ids=["i18n", "actions-expression", "other-name", "empty"],
)
def test_a_yaml_block_scalar_that_holds_no_credential_is_kept(text: str) -> None:
    assert redact(text) == text


def _actions_debug(expression: str, value: str) -> str:
    """What the Actions runner logs with step debug logging on when it evaluates an expression."""
    return (
        f"##[debug]Evaluating: {expression}\n##[debug]Evaluating Index:\n##[debug]..Evaluating steps:\n"
        f"##[debug]..=> Object\n##[debug]..Evaluating String:\n##[debug]..=> 'outputs'\n##[debug]=> {value}\n"
        f"##[debug]Result: {value}\n##[debug]Evaluating condition for step: 'Deploy'"
    )


@pytest.mark.parametrize(
    ("text", "secret"),
    [  # the value was stored in clear: no prefix gives it away, and the name it has is on the `Evaluating:` line
        (_actions_debug("steps.app-token.outputs.token", f"'{TOKEN}'"), TOKEN),
        (_actions_debug("fromJSON(secrets.DB_CREDENTIALS).password", f"'{PASSWORD}'"), PASSWORD),
        (_actions_debug("secrets.DEPLOY_HOOK", f"'{TOKEN}'"), TOKEN),  # a secret the runner did not mask
        (_actions_debug("inputs.api-key", f'"{TOKEN}"').replace("Result:", "result:"), TOKEN),
    ],
    ids=["step-output", "secret-json-field", "secret", "input-lowercase"],
)
def test_an_actions_expression_result_named_for_a_credential_is_redacted(text: str, secret: str) -> None:
    redacted = redact(text)
    assert secret not in redacted and redacted.count("[REDACTED:password_pair]") == 2, redacted


@pytest.mark.parametrize(
    "text",
    [
        _actions_debug("steps.build.outputs.result", "'success'"),
        _actions_debug("github.sha", "'0123456789abcdef0123456789abcdef01234567'"),
        _actions_debug("secrets.GITHUB_TOKEN", "'***'"),  # masked by the runner
        _actions_debug("secrets.NPM_TOKEN != ''", "true"),
        f"Result: '{TOKEN}'\nresult: \"{TOKEN}\"",  # a random-looking value under no credential name
    ],
    ids=["result", "sha", "masked", "condition", "no-expression"],
)
def test_an_actions_expression_result_not_named_for_a_credential_is_kept(text: str) -> None:
    assert redact(text) == text


@pytest.mark.parametrize(
    ("text", "expected"),
    [  # the sentence's full stop was taken with the value: two sentences read as one
        ("password=hunter2. Then Bob deployed", "password=[REDACTED:password_pair]. Then Bob deployed"),
        ("api_key: s3cr3t-v4lue.\nNext step", "api_key: [REDACTED:password_pair].\nNext step"),
        ("DB_PASS=abc123!. Then", "DB_PASS=[REDACTED:password_pair]. Then"),
        ("the password is Hunter2x. Then Bob", "the password is [REDACTED:password_prose]. Then Bob"),
        ("Set password=hunter2.", "Set password=[REDACTED:password_pair]."),
        ("run --password hunter2. Then", "run --password [REDACTED:cli_password]. Then"),
        ("curl -u admin:hunter22. Then", "curl -u admin:[REDACTED:curl_credentials]. Then"),
        # a full stop inside the value, or inside quotes, is the value's
        ("password=pa.ss.word and more", "password=[REDACTED:password_pair] and more"),
        ('password="hunter2." then', 'password="[REDACTED:password_pair]" then'),
    ],
    ids=["pair", "key-newline", "pass", "prose", "end", "cli", "curl", "inner-dot", "quoted"],
)
def test_a_sentence_ending_full_stop_is_not_part_of_the_value(text: str, expected: str) -> None:
    assert redact(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [  # a run of punctuation that ends the sentence stays in the text, whole; the value is still replaced, whole
        ("password=hunter2... Then", "password=[REDACTED:password_pair]... Then"),
        ("password=hunter2...", "password=[REDACTED:password_pair]..."),
        ("is it password=hunter2?! Then", "is it password=[REDACTED:password_pair]?! Then"),
        ("(set password=hunter2.)", "(set password=[REDACTED:password_pair].)"),
        ("the password is Hunter2x?", "the password is [REDACTED:password_prose]?"),
        ("run --password hunter2… then", "run --password [REDACTED:cli_password]… then"),
        # a ! that ends the value is the value's (passwords often end in one), the full stop after it is not
        ("DB_PASS=Summer2024!. Then", "DB_PASS=[REDACTED:password_pair]. Then"),
        ("DB_PASS=Summer2024! Then", "DB_PASS=[REDACTED:password_pair] Then"),
        # inside the value, the same marks are the value's
        ("password=pa..ss?!word and more", "password=[REDACTED:password_pair] and more"),
    ],
    ids=["ellipsis", "ellipsis-end", "interrobang", "stop-paren", "question", "unicode-ellipsis", "bang-stop",
         "bang", "inner-run"],
)  # fmt: skip
def test_a_sentence_ending_run_of_punctuation_stays_out_of_the_placeholder(text: str, expected: str) -> None:
    assert redact(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [  # the MySQL clients take the password fused to -p: it was stored in clear
        (
            "mysql -u root -pS3cr3tPass! -h db.internal prod",
            "mysql -u root -p[REDACTED:cli_password] -h db.internal prod",
        ),
        ("mysqldump -uadmin -pHunter2x db > out.sql", "mysqldump -uadmin -p[REDACTED:cli_password] db > out.sql"),
        ('mysql -uapp -p"quoted pw" x', 'mysql -uapp -p"[REDACTED:cli_password]" x'),
        ("mariadb-dump -pZZtop99 all", "mariadb-dump -p[REDACTED:cli_password] all"),
        # -p alone prompts for it; -p of other commands is not a password
        ("mysql -u root -p prod", "mysql -u root -p prod"),
        ("docker run -p8080:80 nginx", "docker run -p8080:80 nginx"),
        ("mysql shell is up; cp -pr a b", "mysql shell is up; cp -pr a b"),
    ],
    ids=["mysql", "mysqldump", "quoted", "mariadb", "prompt", "docker", "other-command"],
)
def test_a_password_fused_to_a_mysql_clients_p_flag_is_redacted(text: str, expected: str) -> None:
    assert redact(text) == expected
