"""The first word of a sentence built from a user's words (a blameless rewrite): made a capital only when it is a
plain word. An identifier stays as written: "kubectl", "iOS", "`foo`", "deploy_v2.sh", "config/prod.yaml" and a token
("ghp_...") became "Kubectl", "IOS", ..., which names nothing."""

import re

_PLAIN = r"[a-z]+(?:['’-][a-z]+)*"  # "staging", "staging's", "read-only"; no digit, capital, _ . / or backtick
_FIRST = re.compile(rf"({_PLAIN})(?=[\s,;:!?)]|\.(?:\s|$)|$)")
_CAPITALISED = re.compile(r"[A-Z][a-z]*(?:['’-][a-z]+)*(?=[\s,;:!?)]|\.(?:\s|$)|$)")
# Commands written in lower case even at the head of a sentence, which their shape does not tell from a word.
COMMANDS = frozenset(
    "kubectl kubeadm kubelet helm terraform ansible docker podman git gh npm npx pnpm yarn pip pipx uv curl wget ssh "
    "scp rsync sudo systemctl journalctl crontab psql mysql mongosh etcd iptables jq grep sed awk bash zsh cargo "
    "gcloud az aws".split()
)


def sentence_case(text: str) -> str:
    """`text` with its first word capitalised when that word is a plain lower-case word that is no command."""
    first = _FIRST.match(text)
    if first is None or first.group(1) in COMMANDS:
        return text
    return text[:1].upper() + text[1:]


def mid_sentence(text: str) -> str:
    """`text` to follow a comma: its first word lowered when it is a capitalised plain word ("The" -> "the"), never
    an identifier ("GitHub", "IOS")."""
    return text[:1].lower() + text[1:] if _CAPITALISED.match(text) else text
