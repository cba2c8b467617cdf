"""What detect-secrets finds beside the rules: its plugins for the secret types the rules share, with its filters,
on the lines worth a look; and what a found value must look like to be replaced elsewhere too."""

import re
from functools import cache
from typing import Any

from agent_postmortem.store.redact_found import PLACEHOLDER_PATTERN

_DETECT_SECRETS_TYPES = {  # detect-secrets plugin -> our type (entropy and IP plugins are not used)
    "AWS Access Key": "aws_access_key_id",
    "Artifactory Credentials": "artifactory_token",
    "Azure Storage Account access key": "azure_storage_key",
    "Basic Auth Credentials": "url_credentials",
    "Cloudant Credentials": "cloudant_credentials",
    "Discord Bot Token": "discord_bot_token",
    "GitHub Token": "github_token",
    "GitLab Token": "gitlab_token",
    "IBM COS HMAC Credentials": "ibm_credentials",
    "IBM Cloud IAM Key": "ibm_credentials",
    "JSON Web Token": "jwt",
    "Mailchimp Access Key": "mailchimp_key",
    "NPM tokens": "npm_token",
    "OpenAI Token": "openai_key",
    "Private Key": "private_key",
    "PyPI Token": "pypi_token",
    "Secret Keyword": "password_pair",
    "SendGrid API Key": "sendgrid_key",
    "Slack Token": "slack_token",
    "SoftLayer Credentials": "softlayer_credentials",
    "Square OAuth Secret": "square_secret",
    "Stripe Access Key": "stripe_key",
    "Telegram Bot Token": "telegram_bot_token",
    "Twilio API Key": "twilio_key",
}
NOT_SECRET_VALUES = re.compile(
    r"^(?:\*+|x+|<[^>]*>|\$[{(]?[A-Za-z_][A-Za-z0-9_]*[})]?|%\([a-z_]+\)s|\$?\{\{.*\}\}|null|none|true|false|"
    r"redacted|changeme|example|placeholder|\[REDACTED:[a-z_0-9]+\])$",
    re.IGNORECASE,
)


@cache
def _plugins() -> list[Any]:
    from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class

    mapping: dict[str, Any] = get_mapping_from_secret_type_to_class()
    return [cls() for name, cls in mapping.items() if name in _DETECT_SECRETS_TYPES]


def looks_like_value(value: str) -> bool:
    return len(value) >= 8 and not NOT_SECRET_VALUES.match(value) and not PLACEHOLDER_PATTERN.search(value)


_WORTH_A_LOOK = re.compile(r"[A-Za-z0-9_+/=.-]{16,}|(?i:pass|secret|token|key|auth|cred|://)")


def detect_secrets_values(text: str) -> list[tuple[str, str]]:
    """Values detect-secrets reports (with its filters) that are worth replacing literally. Only lines with a long
    token or a credential word are looked at: prose and stack frames have nothing for it and cost the most."""
    from detect_secrets.filters.heuristic import is_likely_id_string, is_potential_uuid, is_templated_secret

    values = []
    for number, line in enumerate(text.splitlines(), start=1):
        if len(line) > 4_000 or not _WORTH_A_LOOK.search(line):
            continue
        for plugin in _plugins():
            for secret in plugin.analyze_line(filename="capture.txt", line=line, line_number=number):
                value = secret.secret_value or ""
                if not looks_like_value(value) or is_potential_uuid(value) or is_templated_secret(value):
                    continue
                if is_likely_id_string(value, line, plugin):
                    continue
                values.append((value, _DETECT_SECRETS_TYPES[secret.type]))
    return values
