"""The texts the redaction tests plant: the misses reported against the first rules, each with what must not be left,
and the invisible characters that are dropped before storage."""

HEX40 = "0123456789abcdef0123456789abcdef01234567"
PGP = (
    "-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nlQdGBGV0c3QBEADcOmU2ZXhhbXBsZWtleWJvZHlsaW5lb25lMTIzNDU2Nzg5\n"
    "Zm9vYmFyYmF6cXV4c2VjcmV0a2V5bWF0ZXJpYWx0aGF0bXVzdG5vdGxlYWsx\n=J8kq\n-----END PGP PRIVATE KEY BLOCK-----"
)
ISSUE_MISSES = [  # (what the issue named, the text it was planted in, what must not be left)
    ("slack app token", "socket mode: xapp-1-A0123456789-1234567890123-" + HEX40 + " rejected", HEX40),
    ("stripe webhook secret", "endpoint secret whsec_Ab12Cd34Ef56Gh78Ij90Kl12Mn34Op56 rejected", "Ab12Cd34Ef56Gh78"),
    ("pgp private key body", f"gpg import failed:\n{PGP}\ndone", "ZXhhbXBsZWtleWJvZHlsaW5l"),
    ("pgp private key body", f"gpg import failed:\n{PGP}\ndone", "Zm9vYmFyYmF6cXV4c2Vj"),
    ("phone, E.164 compact", "callback number +14155552671 given", "4155552671"),
    ("phone, French national", "rappeler le client au 06 12 34 56 78 demain", "12 34 56 78"),
    ("phone, French international", "Tél. +33 6 12 34 56 78", "12 34 56 78"),
    ("phone, German national", "Rückruf unter 030 12345678 bitte", "12345678"),
    ("phone, German international", "Telefon +49 30 12345678", "12345678"),
    ("card right after another number", "order 48213 4111 1111 1111 1111 declined", "4111 1111 1111"),
    ("card right after another number", "ticket 7 5500000000000004 declined", "5500000000000004"),
    ("token glued to CJK text", "令牌ghp_" + "a1B2c3D4e5" * 3 + "f6G7h8已失效", "a1B2c3D4e5"),
    ("key interleaved with U+FE0F", "key sk-proj-" + "\ufe0f".join("Ab3dEf6hIj9lMn2pQr5tUv8x") + " rejected", "Ab3d"),
    ("JSON-escaped password pair", '{\\"db\\": \\"x\\", \\"password\\": \\"hunter2-Secret\\"}', "hunter2-Secret"),
    (
        "escaped zero width in tool arguments",
        '{"q": "with sk-proj-Ab3dEf6hIj9lMn2pQr5t\\u200bUv8xYz1AbCdEf"}',
        "Uv8xYz1AbCd",
    ),
    ("Passwort:", "Passwort: Geheim123!", "Geheim123!"),
    ("contraseña=", "contraseña=Secreta99#", "Secreta99#"),
    ("mot de passe :", "mot de passe : Soleil2024$", "Soleil2024$"),
    ("密码=", "密码=Mima8888!", "Mima8888!"),
    (
        "truncated Azure AccountKey",
        "conn: AccountName=logs;AccountKey=Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5... (truncated)",
        "Zm9vYmFyYmF6",
    ),
    ("Authorization: Token", f"GET /api with Authorization: Token {HEX40} -> 401", HEX40),
    ("US SSN", "the agent read back SSN 123-45-6789 to the caller", "123-45-6789"),
    ("IPv6", "connection reset by 2001:db8:85a3::8a2e:370:7334 port 443", "8a2e:370:7334"),
    (
        "sig= in a SAS URL",
        "GET https://a.blob.core.windows.net/c/b?sv=2022-11-02&sp=r&sig=Ab3d%2BEf6hIj9%2FMn2pQr5%3D",
        "Ab3d%2BEf6",
    ),
    ("the password is X", "User wrote: the password is Tr0ub4dor&3 and it fails", "Tr0ub4dor&3"),
    (  # the outer pair's value was the name `client_secret=`, and the inner pair's value was left
        "a name and its value as a JSON value",
        """tool_args: {"token": "client_secret='hunter2hunter2hunter2'"}""",
        "hunter2hunter2",
    ),
    ("the same, quotes escaped", """{"token": "client_secret=\\"hunter2hunter2hunter2\\""}""", "hunter2hunter2"),
    (
        "an AWS secret key beside its key id",
        "AKIA2E3F4G5H6J7K8L9M secret YXtrrWFzvSW02TtXFdLCts/Cv7n122aAJLQs+H1x leaked in the log",
        "YXtrrWFzvSW02TtXFdLCts",
    ),
    ("an AWS secret key after its name", "the secret access key is YXtrrWFzvSW02TtXFdLCts/Cv7n122aAJLQs+H1x", "YXtrr"),
]


INVISIBLE = {
    "variation selector 16": "\ufe0f",
    "variation selector 17": "\U000e0100",
    "variation selector 256": "\U000e01ef",
    "Hangul filler": "\u3164",
    "Hangul choseong filler": "\u115f",
    "halfwidth Hangul filler": "\uffa0",
    "braille blank": "\u2800",
    "combining grapheme joiner": "\u034f",
    "C0 control": "\x01",
    "escape": "\x1b",
    "C1 control": "\x9b",
    "NEL": "\x85",
    "private use": "\ue000",
    "unassigned": "\U0003fffe",
    "tag": "\U000e0041",
}
