"""A token glued to the text before it: what an ANSI colour code leaves once its ESC is dropped (`[1mghp_…`), a
percent-encoded byte (`%1bghp_…`), a letter or a digit. Its shape is found there too; a word that merely holds a
prefix ("task-runner-…", "ASKIA") is left alone."""

import pytest

from agent_postmortem.store.redact import redact

TOKENS = {
    "github_token": "ghp_aB3dE6gH9jK2mN5pQ8sT1vW4yZ7bC0eF3hJ6",
    "github_fine_grained_pat": "github_pat_11ABCDEFG0aB3dE6gH9jK2_mN5pQ8sT1vW4yZ7bC0eF3hJ6kL9nP2rS5uV8xY1zA4cD7fG0",
    "openai_key": "sk-proj-aB3dE6gH9jK2mN5pQ8sT1vW4yZ7bC0eF3hJ6",
    "anthropic_key": "sk-ant-api03-aB3dE6gH9jK2mN5pQ8sT1vW4yZ7bC0eF3hJ6",
    "gitlab_token": "glpat-aB3dE6gH9jK2mN5pQ8sT1v",
    "google_api_key": "AIzaSyA1bC2dE3fG4hI5jK6lM7nO8pQ9rS0tU1v",
    "huggingface_token": "hf_aB3dE6gH9jK2mN5pQ8sT1vW4yZ7bC0eF3",
    "npm_token": "npm_aB3dE6gH9jK2mN5pQ8sT1vW4yZ7bC0eF3hJ6",
    "vault_token": "hvs.aB3dE6gH9jK2mN5pQ8sT1vW4yZ7b",
    "stripe_webhook_secret": "whsec_aB3dE6gH9jK2mN5pQ8sT1vW4yZ7b",
    "digitalocean_token": "dop_v1_" + "0a1b2c3d4e5f6789" * 4,
}
GLUED = ["[1m", "\x1b[1m", "[0;31m", "%1b", "%1B", "x", "9", "_", "%20", "runbook://%1b"]


@pytest.mark.parametrize("before", GLUED)
@pytest.mark.parametrize("kind", sorted(TOKENS))
def test_a_token_glued_to_the_text_before_it_is_redacted(kind: str, before: str) -> None:
    redacted = redact(f"push failed: {before}{TOKENS[kind]} was rejected")
    assert TOKENS[kind][-16:] not in redacted
    assert f"[REDACTED:{kind}]" in redacted


def test_a_percent_encoded_token_in_an_errors_uri_is_redacted() -> None:
    token = TOKENS["github_token"]
    redacted = redact(f'{{"code": -32602, "data": {{"uri": "runbook://%1b{token}"}}}}')
    assert redacted == '{"code": -32602, "data": {"uri": "runbook://%1b[REDACTED:github_token]"}}'


@pytest.mark.parametrize(
    "text",
    [
        "task-runner-configuration-for-production failed",
        "disk-usage-monitoring-dashboard-v2 is red",
        "a risk-free-rollback-strategy-for-2026 was chosen",
        "risk-Assessment-Q4-2024-final-review.pdf",
        "kiosk-display-controller-service restarted",
        "MASKIAMROLESFORTHISACCOUNT is a constant",
        "the shelf_inventory_reconciliation_job_2026 ran",
        "see xhvs.deployment-notes-for-the-cluster",
    ],
)
def test_a_word_that_merely_holds_a_prefix_is_kept(text: str) -> None:
    assert redact(text) == text


def test_two_github_tokens_glued_to_each_other_are_both_redacted() -> None:
    """`ghp_<36>ghp_<36>` with no separator: the first token ends in a word character followed by another, so the
    pattern's word boundary never held and the first token stayed in clear while the second was redacted."""
    first, second = "ghp_qHX2qRymuyHVsaLWPfpx6Asegpbyf1bM0wFg", "ghp_PsYvbqcYBpiLaP8A89rk562NhEkbWorwfo7p"
    redacted = redact(f"owner {first}{second} failed")
    assert redacted == "owner [REDACTED:github_token][REDACTED:github_token] failed"
