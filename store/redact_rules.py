"""The redaction rules: one pattern per secret or PII format; the checks a pattern alone cannot make are in
`redact_checks`, and card numbers, which no pattern finds, are scanned for in `redact_cards`.

Patterns are ASCII-bounded (`re.ASCII`): a token glued to CJK or other non-Latin text still has its edges. Values
stop at quotes, separators and at a backslash that starts an escape, so JSON-escaped carriers
(`{\\"password\\": \\"…\\"}`) keep their structure.
"""

from agent_postmortem.store.redact_cards import card_spans as card_spans  # the card scan, for `redact`

# a value: anything but spaces, quotes, separators (ASCII, CJK and fullwidth ones) and an escaping backslash
_V = r"(?:[^\s\"'`\\,;<>(){}\[\]\u3000-\u303f\uff01-\uff0f\uff1a-\uff20\uff5b-\uff65]|\\(?![\\\"'/bfnrtu]))"
_NOT_SPACE_OR_QUOTE = r"[^\s\"']"
_Q = r"(?:\\{0,3}[\"'`])?"  # an optional quote, itself maybe escaped
_BYTES = r"(?:b\\{0,3}[\"'])?"  # a value written as Python bytes (`b'…'`), as an agent's arguments often hold one
_PASSWORD_WORDS = (  # "password" in the languages agents most often log in; a word, not a generic key name
    r"password|passwd|pwd|passphrase|passwort|kennwort|contraseña|contrasena|mot[ _-]?de[ _-]?passe|senha|"
    r"wachtwoord|hasło|haslo|lösenord|losenord|salasana|heslo|jelszó|пароль|密码|密碼|パスワード|비밀번호|şifre|"
    r"mật khẩu|รหัสผ่าน"
)
# a paging cursor is a position, not a credential: nextPageToken, next-page-token, X-Ms-Continuation-Token,
# NextToken, ContinuationToken, cursor_token, pagination-token
_PAGING = ("page", "pagination", "continuation", "cursor", "next")
_NOT_PAGING = "".join(rf"(?<!{word})(?<!{word}[_ -])" for word in _PAGING)
_SECRET_WORDS = (
    r"secret(?:[_-]?key(?:[_-]?base)?)?|api[_-]?key|apikey|access[_-]?key|auth[_-]?token|access[_-]?token|"
    rf"refresh[_-]?token|client[_-]?secret|private[_-]?key|{_NOT_PAGING}token|"
    r"(?:signing|encryption|master|hmac)[_-]?key"  # and SECRET_KEY (Django, MinIO), SECRET_KEY_BASE (Rails)
)
# a name that ends in one of those words, or is `pass` or `pw` alone or after a separator (DB_PASS, not bypass)
CREDENTIAL_NAME = rf"(?:{_PASSWORD_WORDS}|{_SECRET_WORDS}|(?<![A-Za-z])(?:pass|pw))"
# a quoted value is whole up to its closing quote, spaces included ("correct horse battery staple")
_QUOTED = r"(?<=[\"'`])[^\"'`\n\\]{6,200}(?=\\{0,3}[\"'`])"
# A value ends before the punctuation that ends its sentence, kept whole in the text: a full stop, an ellipsis or a
# question mark, then any more of those and of !, then closing brackets or quotes, at a space or the end
# ("password=hunter2. Then", "hunter2...", "hunter2?!", "hunter2.)"); the same marks inside a value are its own
# ("pa.ss"), and so is a ! that ends it ("Summer2024!", as passwords often end)
_SENTENCE_END = r"[.?\u2026][.?!\u2026]*[)\]\"'\u201d\u00bb]*(?:\s|\Z)"


def _value(char: str, least: int) -> str:
    """`least` or more of `char`, up to the punctuation that ends a sentence."""
    return rf"(?:(?!{_SENTENCE_END}){char}){{{least},}}"


_IS = r"(?:\s+(?:is|was|ist|war|es|est|era|é)\s*:?\s+|\s*(?:是|为|は)\s*)"  # "the password is X", "密码是X"

# HTTP header names (and the same names as JSON or dict keys) that carry a credential: ending in -Key or -Token, or
# with a Secret or Auth part (X-Api-Key, Ocp-Apim-Subscription-Key, X-Auth-Token, X-Custom-Auth, X-Secret-Value).
_CREDENTIAL_HEADER = (
    r"(?:(?:[a-z0-9]+-)+(?:key|token)|(?:[a-z0-9]+-)*(?:auth|authentication|[a-z0-9]*secret)(?:-[a-z0-9]+)*)"
    r"(?![\w.-])"
)
# ... but not these, whose values are ids, nonces, names or addresses: Idempotency-Key, Sec-WebSocket-Key, a cache or
# partition key, a public key, a page token; Authentication-Results (mail), X-Auth-User, X-Auth-Request-Redirect
_NOT_CREDENTIAL_HEADER = (
    r"(?:[a-z0-9]+-)*(?:idempotency|websocket|cache|partition|routing|public|sort|primary|foreign|object|shard|row|"
    r"range|lookup|dedup|dedupe|deduplication|continuation|page|next-page|pagination|cursor|next)-(?:key|token)"
    r"(?![\w.-])|"
    r"(?:[a-z0-9]+-)*auth(?:entication)?(?:-[a-z0-9]+)*-(?:results?|user|username|email|name|url|uri|redirect|"
    r"method|type|scheme|mode|provider|status|realm|domain|version|id)(?![\w.-])"
)
# after a URL password's @: a host (and port) that ends the address (a path, a query, a quote, a space, the end), with
# no other @ before a space or a quote: "p@ss!@db" and ":hunter@2#x@cache" kept "@ss!" and "@2#x" in clear
_HOST_ENDS = r"(?=[\w.~%:\[\]-]*(?:[/?#\s\"'<>),;]|$))(?![^\s/\"'<>]*@)"
UNICODE_RULES = frozenset({"password_pair", "password_prose"})  # their words are not all ASCII, nor their case
# (type, pattern, group to replace: 0 = the whole match)
SECRET_RULES: list[tuple[str, str, int]] = [
    (
        "private_key",
        r"-----BEGIN[ A-Z0-9]*PRIVATE KEY(?: BLOCK)?-----[\s\S]*?(?:-----END[ A-Z0-9]*PRIVATE KEY(?: BLOCK)?-----|\Z)",
        0,
    ),
    ("github_fine_grained_pat", r"github_pat_[A-Za-z0-9_]{60,255}", 0),
    ("github_token", r"gh[pousr]_[A-Za-z0-9]{36,255}(?:\b|(?=gh[pousr]_))", 0),  # or glued to the next one
    ("gitlab_token", r"glpat-[A-Za-z0-9_-]{20,}", 0),
    ("anthropic_key", r"sk-ant-[A-Za-z0-9_-]{20,}", 0),
    ("openai_key", r"sk-(?:proj-|svcacct-|admin-|None-)?[A-Za-z0-9_-]{20,}", 0),
    ("stripe_key", r"(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{16,}", 0),
    ("stripe_webhook_secret", r"whsec_[A-Za-z0-9+/=]{24,}", 0),
    ("aws_access_key_id", r"(?:AKIA|ASIA|ABIA|ACCA|AROA|AIDA)[0-9A-Z]{16}\b", 0),
    (  # its secret access key: 40 characters of base64 within 100 characters after the key id (on its line or the
        # next: a CSV row, two lines of a log), after the words "(aws) secret (access) key" with no = or : between
        # ("the secret key is …"), or after "key=" / "aws_key:" (checked: a hex digest, a commit, stays)
        "aws_secret_access_key",
        r"(?:\b(?:AKIA|ASIA|ABIA|ACCA|AROA|AIDA)[0-9A-Z]{16}\b(?:[^\n]|\n(?![ \t]*\n)){0,100}?"
        r"|(?i:\b(?:aws[ _-]?)?secret(?:[ _-]?access)?(?:[ _-]?key)?[ \t]+(?:is[ \t]+|was[ \t]+|of[ \t]+)?)"
        r"|(?i:\b(?:aws[ _-]?)?(?:secret[ _-]?)?(?:access[ _-]?)?key)[ \t]*[=:][ \t]*[\"']?)"
        r"(?<![A-Za-z0-9/+])([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])",
        1,
    ),
    ("google_api_key", r"AIza[0-9A-Za-z_-]{35}", 0),
    ("huggingface_token", r"hf_[A-Za-z0-9]{30,}", 0),
    # this server's own bearer tokens (`postmortem token add`: pm_ and 43 URL-safe base64 characters); a snake_case
    # name of that length (all lower case, no digit) is not one
    ("postmortem_token", r"pm_(?=[a-z_-]{0,42}[A-Z0-9])[A-Za-z0-9_-]{43}(?![A-Za-z0-9_-])", 0),
    ("vault_token", r"hv[sbr]\.[A-Za-z0-9_-]{24,}", 0),
    ("grafana_token", r"(?:glsa_[A-Za-z0-9]{32}_[A-Fa-f0-9]{8}|glc_[A-Za-z0-9+/]{32,}={0,2})", 0),
    ("groq_key", r"gsk_[A-Za-z0-9]{40,}", 0),
    ("xai_key", r"xai-[A-Za-z0-9]{60,}", 0),
    ("perplexity_key", r"pplx-[A-Za-z0-9]{40,}", 0),
    ("replicate_token", r"r8_[A-Za-z0-9]{30,}", 0),
    ("langsmith_key", r"lsv2_(?:pt|sk)_[a-f0-9]{32}_[a-f0-9]{10}\b", 0),
    ("tavily_key", r"tvly-(?:dev-|prod-)?[A-Za-z0-9]{24,}", 0),
    # more prefixed tokens of services agents call (each prefix its own, a length the service issues)
    ("pinecone_key", r"pcsk_[A-Za-z0-9]{4,12}_[A-Za-z0-9]{30,}", 0),
    ("fireworks_key", r"\bfw_(?=[a-z0-9]*[A-Z])(?=[A-Za-z]*[0-9])[A-Za-z0-9]{24,}", 0),  # not fw_<hex build id>
    ("databricks_token", r"\bdapi[a-h0-9]{32}(?:-\d{1,2})?\b", 0),
    ("atlassian_token", r"\bATATT3[A-Za-z0-9_=-]{150,}", 0),
    ("linear_key", r"\blin_(?:api|oauth)_[A-Za-z0-9]{40,}", 0),
    ("notion_token", r"\b(?:ntn_[0-9]{11}[A-Za-z0-9]{32,}|secret_[A-Za-z0-9]{43})(?![A-Za-z0-9])", 0),
    ("google_oauth_token", r"\bya29\.[A-Za-z0-9_-]{20,}|(?<![\w/])1//0[A-Za-z0-9_-]{40,}", 0),
    ("supabase_token", r"\bsbp_(?:v0_)?[a-f0-9]{40}\b", 0),
    ("doppler_token", r"\bdp\.(?:pt|st|ct|sa|scim|audit)\.[A-Za-z0-9]{40,}", 0),
    ("planetscale_token", r"\bpscale_(?:tkn|oauth|pw)_[A-Za-z0-9_.=-]{32,}", 0),
    ("postman_key", r"\bPMAK-[a-f0-9]{24}-[a-f0-9]{34}\b", 0),
    ("figma_token", r"\bfig[dou]_[A-Za-z0-9_-]{40,}", 0),
    ("newrelic_key", r"\bNR(?:AK|II|JS)-[A-Za-z0-9]{19,}", 0),
    ("sentry_token", r"\bsntry[su]_[A-Za-z0-9+/=_-]{40,}", 0),
    ("pulumi_token", r"\bpul-[a-f0-9]{40}\b", 0),
    ("mapbox_token", r"\b[sp]k\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{20,}", 0),
    ("square_token", r"\b(?:EAAA[A-Za-z0-9_-]{60,}|sq0(?:atp|csp|idp)-[A-Za-z0-9_-]{22,43})(?![A-Za-z0-9_-])", 0),
    ("age_secret_key", r"AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58}", 0),
    (  # a bot token's HMAC is 27 to 38 characters: detect-secrets' pattern took 27 and left the rest in clear
        "discord_bot_token",
        r"(?<![A-Za-z0-9_-])[MNO][A-Za-z0-9_-]{23,27}\.[A-Za-z0-9_-]{6}\.[A-Za-z0-9_-]{27,40}(?![A-Za-z0-9_-])",
        0,
    ),
    ("slack_webhook", r"https://hooks\.slack\.com/(?:services|workflows)/[A-Za-z0-9/_-]{20,}", 0),
    ("slack_token", r"(?:xox(?:e\.xox)?[abposre]|xapp)-[A-Za-z0-9-]{10,}", 0),
    ("discord_webhook", r"https://(?:canary\.|ptb\.)?discord(?:app)?\.com/api/webhooks/\d+/[A-Za-z0-9_-]{30,}", 0),
    ("npm_token", r"npm_[A-Za-z0-9]{36}\b", 0),
    ("pypi_token", r"pypi-AgE[A-Za-z0-9_-]{50,}", 0),
    ("sendgrid_key", r"SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}\b", 0),
    ("twilio_key", r"\bSK[0-9a-f]{32}\b", 0),
    ("digitalocean_token", r"do[por]_v1_[a-f0-9]{64}\b", 0),
    ("shopify_token", r"shp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}\b", 0),
    ("telegram_bot_token", r"(?<!\d)\d{8,10}:AA[A-Za-z0-9_-]{33}(?![A-Za-z0-9_-])", 0),
    ("mailchimp_key", r"\b[0-9a-f]{32}-us\d{1,2}\b", 0),
    ("azure_storage_key", r"(?i)\b(?:Account|SharedAccess)Key\s*=\s*([A-Za-z0-9+/]{16,}={0,2})", 1),
    (
        "url_signature",
        r"(?i)[?&;](?:sig|signature|x-amz-signature|x-amz-security-token|x-goog-signature|key|appid|code)"
        r"=([^&#\s\"'\\]{16,})",  # appid: OpenWeatherMap's key; code: an Azure Function's (or an OAuth code)
        1,
    ),
    (  # signed, unsigned (`alg: none`, an empty signature) or cut off after its payload; or encrypted (JWE, 5 parts)
        "jwt",
        r"eyJ[A-Za-z0-9_-]{8,}\.(?:eyJ[A-Za-z0-9_-]{8,}(?:\.[A-Za-z0-9_-]*)?|[A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]{8,}){3})",
        0,
    ),
    (  # a password runs to the last @ before the host (`p@ss:w0rd@db`): an @ with no other @ after its host
        "connection_string",
        r"\b(?:postgres(?:ql)?|mysql|mariadb|mongodb(?:\+srv)?|redis|rediss|amqps?|mssql|sqlserver)://[^:/\s@]*:"
        rf"(\S+?)@{_HOST_ENDS}",
        1,
    ),
    ("url_credentials", rf"\b[a-z][a-z0-9+.-]*://[^:/\s@]*:([^\s/]{{3,}}?)@{_HOST_ENDS}", 1),  # redis://:pw@ too
    ("bearer_token", r"(?i)\bbearer\s+([A-Za-z0-9._~+/-]{16,}=*)", 1),
    ("basic_auth_header", r"(?i)\bauthorization[\"']?\s*[:=]\s*[\"']?basic\s+([A-Za-z0-9+/]{8,}=*)", 1),
    (
        "authorization_header",
        rf"(?i)\b(?:proxy-)?authorization{_Q}\s*[:=]\s*{_Q}(?:[a-z][a-z0-9-]{{1,30}}\s+)?({_V}{{8,}})",
        1,
    ),
    (  # a session is a credential: every cookie of the header (Set-Cookie's attributes go too)
        "cookie",
        rf"(?i)\b(?:set-)?cookie{_Q}\s*[:=]\s*{_Q}([^\s\"'`\\;=]+=[^\s\"'`\\;]*(?:;[ \t]*[^\s\"'`\\;]+)*)",
        1,
    ),
    (  # a header (line, JSON or dict form) named for a credential: X-Api-Key, Ocp-Apim-Subscription-Key, api-key
        "api_key_header",
        rf"(?i)(?<![\w.-])(?!{_NOT_CREDENTIAL_HEADER}){_CREDENTIAL_HEADER}{_Q}[ \t]*[:=][ \t]*{_Q}"
        rf"(?:[a-z][a-z0-9-]{{1,30}}[ \t]+)?({_V}{{8,}})",  # after a scheme on the same line (`Token …`)
        1,
    ),
    (
        "password_pair",
        rf"(?i)(?:{_PASSWORD_WORDS}|{_SECRET_WORDS}){_Q}"  # the word ends a name: db_password, PGPASSWORD, "token"
        rf"[ \t\u00a0\u3000]*(?:=|:|=>|：|＝)[ \t\u00a0\u3000]*{_Q}{_BYTES}({_QUOTED}|{_value(_V, 6)})",
        1,
    ),
    (  # a name and its value as a pair, as form fields, headers and query params are often passed: a tuple or a
        "password_pair",  # two-item list (`[("api_key", "…")]`, `[["X-Api-Key", "…"]]`)
        rf"(?i)[\[(][ \t]*\\{{0,3}}[\"'][\w.-]*?(?:{_PASSWORD_WORDS}|{_SECRET_WORDS})\\{{0,3}}[\"'][ \t]*,[ \t]*"
        rf"b?\\{{0,3}}[\"']{_BYTES}([^\"'`\n\\]{{6,200}})(?:\\{{0,3}}[\"']){{1,2}}[ \t]*[\])]",
        1,
    ),
    (  # an environment variable named for a credential, its value under a key of its own: a Kubernetes or ECS `env`
        "password_pair",  # entry (`- name: DB_PASSWORD` then `value: …`, `{"name": …, "value": …}`), not valueFrom
        rf"(?i)\bname{_Q}[ \t]*[:=][ \t]*{_Q}[\w.-]*?{CREDENTIAL_NAME}"
        rf"{_Q}[ \t]*,?[ \t]*(?:\n[ \t]*)?{_Q}value{_Q}[ \t]*[:=][ \t]*{_Q}({_QUOTED}|{_value(_V, 3)})",
        1,
    ),
    (  # `pass` and `pw` as a whole name or after a separator (DB_PASS, "pw", not bypass), with more than letters
        "password_pair",  # as a value ("first pass: skipped" is not a password)
        rf"(?i)(?<![A-Za-z])(?:pass|pw){_Q}[ \t]*(?:=|:|=>)[ \t]*{_Q}"
        rf"(?=[A-Za-z]*[^A-Za-z\s\"'`\\,;])({_value(_V, 6)})",
        1,
    ),
    # "the password is X" and other sentences that tell a password: `redact_named`
    (
        "cli_password",
        r"(?i)(?:^|\s)--?(?:password|passwd|pass|token|api-key|apikey|secret|client-secret)(?:=|\s+)[\"']?"
        rf"({_value(_NOT_SPACE_OR_QUOTE, 6)})",
        1,
    ),
    (  # the MySQL clients' -pPASSWORD, the password fused to its flag (`-p` alone prompts; -P is the port)
        "cli_password",
        r"\b(?:mysql|mysqldump|mysqladmin|mysqlimport|mysqlcheck|mysqlpump|mariadb(?:-dump|-admin)?)\b[^\n|;&]*?\s"
        rf"-p[\"']?((?<=[\"'])[^\"'\n]{{3,200}}(?=[\"'])|{_value(_NOT_SPACE_OR_QUOTE, 3)})",
        1,
    ),
    (  # curl -u / --user name:password (not docker's --user uid:gid, ls -u)
        "curl_credentials",
        rf"\bcurl\b[^\n]*?\s(?:-u|--user|-U|--proxy-user)(?:=|\s*)[\"']?[^\s\"':]+:({_value(_NOT_SPACE_OR_QUOTE, 3)})",
        1,
    ),
]

# a hex dump ("0d 01 07 96 09 37 d7 9b", "4a6f 0153 9558 4457 6f65") holds runs of digit-only bytes shaped like a
# national phone number: not one when two groups of hex digits (two or four) stand right before it, or three right
# after it. Fewer is not enough: "de" and "ab" are words ("numéro de 06 12 34 56 78", "06 12 34 56 78 de 10 à 12h")
_HEX2, _HEX4 = r"[0-9A-Fa-f]{2}", r"[0-9A-Fa-f]{4}"
_NOT_IN_A_HEX_DUMP = rf"(?<!\b{_HEX2}[ :]{_HEX2}[ :])(?<!\b{_HEX4}[ :]{_HEX4}[ :])"
_NOT_IN_A_HEX_DUMP_AFTER = rf"(?!(?:[ :]{_HEX2}){{3}}\b)(?!(?:[ :]{_HEX4}){{3}}\b)"

PII_RULES: list[tuple[str, str, int]] = [
    ("email", r"\b[A-Za-z0-9._%+-]+@(?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,}\b", 0),
    ("iban", r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b", 0),
    ("ssn", r"(?<![\w-])(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}(?![\w-])", 0),
    (
        "phone",
        r"(?<![\w.+-])(?:"
        r"\+\d{1,3}[ .-]?(?:\(0\)[ .-]?)?(?:\(\d{1,4}\)[ .-]?)?\d{1,4}(?:[ .-]\d{2,8}){1,4}"  # +44 20 7946 0958
        r"|\+[1-9]\d{7,14}"  # +14155552671
        r"|(?<!\b\d\d[ :])(?<!\b\d{4}[ :])" + _NOT_IN_A_HEX_DUMP + "(?:"  # national forms: not in a hex dump
        r"0[1-9](?:[ .-]\d{2}){4}"  # 06 12 34 56 78
        r"|0\d{2,4}(?:[ /-]\d{2,8}){1,3}"  # 030 12345678, 089/1234567, 020 7946 0958
        r"|\(\d{3}\)[ .-]?\d{3}[ .-]\d{4}|\d{3}[ .-]\d{3}[ .-]\d{4}"  # (415) 555-2671, 415.555.2671
        r")(?![ .:-]?\d{2}\b)" + _NOT_IN_A_HEX_DUMP_AFTER + r")(?![\w-])",
        0,
    ),
    ("ip_address", r"\b(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)\b", 0),
    ("ipv6", r"(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![\w:])", 0),
]

_PASSWORD_HINTS = (
    "pass", "pwd", "kennwort", "contrase", "mot", "senha", "wachtwoord", "has", "senord", "salasana", "heslo", "jelsz",
    "пароль", "密码", "密碼", "パスワード", "비밀번호", "şifre", "sifre", "mật", "รหัส",
)  # fmt: skip
HINTS: dict[str, tuple[str, ...]] = {  # a rule runs only on text (lower-cased) holding one of its hints: speed only
    "password_pair": (*_PASSWORD_HINTS, "pw", "secret", "key", "token"),
    "password_prose": _PASSWORD_HINTS,
    "aws_secret_access_key": ("akia", "asia", "abia", "acca", "aroa", "aida", "secret", "key"),
    "authorization_header": ("authorization",),
    "basic_auth_header": ("authorization",),
    "bearer_token": ("bearer",),
    "api_key_header": ("key", "token", "secret", "auth"),
    "azure_storage_key": ("key",),
    "url_signature": ("sig", "security-token", "key=", "appid=", "code="),
    "cookie": ("cookie",),
    "private_key": ("private key",),
    "cli_password": ("-",),
    "curl_credentials": ("curl",),
}
