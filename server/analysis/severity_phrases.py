"""Impact in words: the phrases that say an outage, data lost or exposed, an attack, harm to people, legal
consequences, the environment or no impact at all, one pattern per dimension (`severity_scale` reads the numbers).
A phrase right after a hypothetical ("could", "to prevent", "if") or inside an if-clause is not an impact that
happened."""

import re

from agent_postmortem.analysis.severity_findings import PhraseDimension

_I = re.IGNORECASE
HYPOTHETICAL = re.compile(
    r"\b(?:could|would|might|may|can|cannot|can't|potentially|possibly|if|risk of|risks|to prevent|avoid|never)\b"
    r"(?:\s+[^\s;:.!?]+){0,3}\s*$",
    _I,
)
# ... nor one inside a conditional clause that has not ended (no comma or stop between): "if a zone goes down or has
# service disruptions" (a design's contingency in a DFDS postmortem, read as a partial outage).
CONDITIONAL = re.compile(r"\b(?:if|unless|in\s+case|whether)\b[^.;:!?,\n]*$", _I)
# "monitoring" names the system ("our monitoring was down"), not what people do: "we are monitoring the results",
# a status page's "Monitoring - ..." update, "actively monitoring for errors" (read as internal tooling, it capped a
# partial outage at SEV4).
_MONITORING = (
    r"(?<!\bare )(?<!\bis )(?<!\bbe )(?<!\bbeen )(?<!'re )(?<!\bkeep )(?<!\bcontinue )(?<!actively )(?<!closely )"
    r"(?<!\bstill )monitoring(?!\s+[-–:]\s)"
    r"(?!\s+(?:the|for|closely|it|this|these|recovery|progress|results|performance|traffic|our)\b)"
)
# "killed" of a process is no harm to people: "the job ran an hour before it was killed", "OOM killed", "we killed
# the stuck worker" (read as harm, each was SEV1).
_PROCESS = "process job task pod container worker run session agent query connection server thread request script it"
_KILLED = (
    "".join(f"(?<!\\b{s} {v} )" for s in _PROCESS.split() for v in ("was", "were", "got", "is"))
    + r"(?<!\boom )(?<!\boom-)(?<!\bsig)killed(?!\s+(?:the\s+|a\s+|an\s+|its\s+|our\s+|their\s+)?(?:\w+\s+)?"
    + r"(?:processe?|job|task|pod|container|worker|run|session|agent|query|connection|server|thread|request|script|"
    + r"service|instance|it|them)s?\b)"
)
# A theft in the world the system was reading is no attack on it: "matched a family's plate to that of a stolen
# vehicle", "a motorcycle that was reportedly stolen", "flagged a driver for petrol theft" (licence-plate readers in
# AIID, each read as "an attack succeeded", SEV1). Funds, data or credentials stolen still are, goods nearby or not.
_GOODS = re.compile(
    r"\b(?:vehicles?|cars?|trucks?|vans?|minivans?|motorcycles?|motorbikes?|bikes?|bicycles?|(?:licen[cs]e )?plates?|"
    r"goods|merchandise|fuel|petrol|gas|gasoline|shoplift\w*)\b",
    _I,
)
_DIGITAL = re.compile(
    r"\b(?:funds|money|crypto\w*|eth|btc|usdc?|tokens?|credits?|credentials|passwords?|keys?|secrets?|data|accounts?|"
    r"wallets?|identit(?:y|ies)|records|files)\b|\$\d",
    _I,
)
_THEFT_WORD = re.compile(r"stole|stolen|theft", _I)


def theft_of_goods(text: str, match: re.Match[str]) -> bool:
    """An "attack" match that is a theft word with goods in its sentence and nothing digital stolen."""
    if not _THEFT_WORD.fullmatch(match.group(0)):
        return False
    before = re.split(r"[.;!?]\s", text[max(0, match.start() - 100) : match.start()])[-1]
    after = re.split(r"[.;!?](?:\s|$)", text[match.end() : match.end() + 50])[0]
    clause = before + match.group(0) + after
    return bool(_GOODS.search(clause)) and not _DIGITAL.search(clause)


# ... nor a harm denied in its own clause: "no PII was leaked", "We have no evidence that any data was exfiltrated",
# "There was no data loss" (each read as the harm it denies). "not" is left out: "the check did not catch the
# corrupted rows" states the corruption.
NEGATED = re.compile(r"\b(?:no|nothing|nobody|none|without)\b(?:\s+[^\s;:.!?,]+){0,5}\s*$", _I)
NEGATABLE = frozenset({"data_loss", "data_exposed", "attack", "harm"})
PHRASES: list[tuple[PhraseDimension, re.Pattern[str]]] = [
    (
        "outage",
        re.compile(
            r"\b(?:outage|went down|was down|were down|is down|are down|down for|unavailable|inaccessible|offline|"
            r"(?<!\bno )(?<!zero )(?<!zero-)(?<!without )(?<!without any )downtime|"
            r"unreachable|not reachable|degraded|degradation|elevated (?:error|latenc)\w*|"
            r"(?:high|increased) error rates?|"
            r"failed to (?:load|start|respond)|stopped working|"
            r"(?:could not|couldn.t|unable to) (?:log ?in|sign ?in|access|connect|reach)|disruption|"
            r"service interruption|crash(?:ed|ing)? for)",
            _I,
        ),
    ),
    (
        "full_outage",
        re.compile(
            r"\b(?:(?:full|complete|total|major|global|worldwide|widespread) outage|completely (?:down|unavailable)|"
            r"unavailable to all|"
            r"(?:all|every|entire|whole)\b[^.\n]{0,50}?\b(?:down|(?<!\bno )downtime|unavailable|inaccessible|"
            r"offline)\b|"
            r"(?:was|were|went) (?:completely )?(?:down|offline)|100% of (?:\w+ )?requests|"
            r"(?:all|every|entire)\s+(?:\w+\s+){0,3}?(?:services|traffic|requests|endpoints|apis|sites|agents)\b"
            r"[^.\n]{0,40}?(?:fail\w*|errors?|return\w* (?:status )?(?:50\d|40[34])|50\d))",
            _I,
        ),
    ),
    (
        "pulled",
        re.compile(
            r"\b(?:shut (?:it |them )?down|(?:was|were|been) (?:shut down|suspended|pulled|halted|discontinued|"
            r"withdrawn|disabled)|took (?:\w+ ){1,2}offline|(?:suspend|pull|halt|disabl|withdr[ae]w)\w* (?:the |its )?"
            r"(?:feature|bot|chatbot|service|tool|product|model|rollout|launch|app)|temporary halt|recall\w*)",
            _I,
        ),
    ),
    (
        "public",
        re.compile(
            r"\b(?:widespread|viral|went viral|public outcry|backlash|outrage|cancellations?|mass (?:\w+ )?"
            r"(?:reports|complaints))",
            _I,
        ),
    ),
    (
        "internal_only",
        re.compile(
            r"\b(?:log ?shipp\w*|logs? (?:were |are )?not (?:shipped|sent|collected)|metrics|" + _MONITORING + "|"
            r"observability|prometheus|grafana|alerting|exporter|internal (?:tool|tooling|users?|"
            r"dashboard|service|staff))",
            _I,
        ),
    ),
    (
        "data_loss",
        re.compile(
            r"\b(?:data loss|lost (?:all |their |my |our )?(?:data|work|files|records|history|changes|code)|"
            # a number lost: "lost 10,000 rows in production", "lost ~2.5k customer records"
            r"lost (?:~|about |over |nearly |some )?[\d,.]+\s?(?:k|m|thousand|million)?\+? (?:\w+ )?"
            r"(?:rows|records|files|documents|messages|emails|conversations|entries|tables|objects|orders|"
            r"transactions|commits)\b|"
            # up to the end of the sentence; a dot between digits ("1.234.567 rows") does not end it
            r"(?:deleted|dropped|wiped|erased|destroyed|truncated|overwrote|overwritten|purged)\b"
            r"(?:[^.\n]|(?<=\d)\.(?=\d)){0,60}?"
            r"(?:database|table|rows|records|data|files|directory|folder|repo|repository|codebase|history|backups?|"
            r"volume|disk|bucket|project|home|conversations?|messages|threads?|chats?|emails|worktree|branch)|"
            r"permanently (?:lost|deleted|erased)|irrecoverabl\w*|unrecoverabl\w*|"
            r"corrupt(?:ed|ion|s)?\b|"
            # the passive of the object: "the production database was deleted", "both tables were dropped"
            r"(?:database|table|directory|folder|repo|repository|bucket|volume|backup|disk)s? (?:was|were|had been|"
            r"has been|have been|got) (?:\w+ )?(?:deleted|dropped|wiped|erased|destroyed|truncated|purged|overwritten)|"
            r"(?:data|rows|records|files|work|changes|history) (?:was |were |are |is )?"
            r"(?:lost|deleted|wiped|erased|gone)|(?:rm -rf|drop table|terraform destroy|reset --hard))",
            _I,
        ),
    ),
    (
        "data_recovered",
        re.compile(
            r"\b(?:recovered (?:the|all|his|her|their|our|my)? ?(?:data|database|files)|restored from (?:a )?backups?|"
            r"(?:data|files|database) (?:was|were) (?:recovered|restored)|recoverable|no data (?:was )?lost|"
            r"no (?:work|data) was lost|no data loss|able to recover|only recovered)",
            _I,
        ),
    ),
    (
        "data_exposed",
        re.compile(
            r"\b(?:leak(?:ed|s|ing)?|expos(?:ed|ure|ing|es)\s+(?:of\s+)?(?:\S+\s+){0,4}?(?:data|records|information|"
            r"details|pii|credentials|secrets?|keys|tokens|emails|conversations|messages|files|documents|prompts?|"
            r"patients|customers|users|people)\b|data exposure|exfiltrat\w*|"
            # a breach of a service level is no data breach: "we breached our 99.9% SLA"
            r"breach(?:ed)?\b(?!\s+(?:\S+\s+){0,3}?(?:sla|slo|target|objective|budget)s?\b)|"
            r"(?:shown|visible|sent|revealed) to "
            r"(?:other|another|the wrong|unrelated)\s+\w+|"
            r"other users?'?s?\s+(?:\w+\s+)?(?:data|conversations?|chats?|histor(?:y|ies)|messages|sessions|"
            r"information)|"
            r"personal (?:data|information)|\bpii\b|medical records|credit card|social security|"
            r"private (?:repos|repositories|messages|data)|"
            # a secret counts only where it is out: naming the key a client uses is not an exposure
            r"(?:printed|logged|posted|committed|pushed|echoed|disclosed|revealed|pasted|dumped|stolen)\s+(?:\S+\s+){0,5}?"
            r"(?:passwords?|credentials|api keys?|secrets?|tokens?)\b|"
            r"(?:passwords?|credentials|api keys?|secrets?|tokens?)\s+(?:\S+\s+){0,4}?(?:leaked|exposed|revealed|"
            r"visible|printed|logged|posted|committed|pushed|stolen|compromised|in (?:plain ?text|the (?:logs?|repo|"
            r"response|output|prompt)))\b)",
            _I,
        ),
    ),
    (
        "attack",
        re.compile(
            r"\b(?:stole|stolen|theft|hijack\w*|(?:was|were|been) compromised|malicious (?:worm|package|code) "
            r"(?:spread|published)|attackers? (?:(?:was|were) able|managed|used|stole|gained|exfiltrat\w*|drained)|"
            r"unauthori[sz]ed (?:transfer|transaction|purchase|access|payment|withdrawal)s?|drained|ransom\w*|"
            r"fraudulent (?:prompts|transfer|transactions)|defrauded|scammed)",
            _I,
        ),
    ),
    (
        "vulnerability",
        re.compile(
            r"\b(?:vulnerab\w*|\bcve-\d{4}|could (?:allow|let|be used)|(?:may|might) allow|proof[- ]of[- ]concept|"
            r"\bpoc\b|security researchers?|responsibly disclosed|demonstrated)",
            _I,
        ),
    ),
    (
        "harm",
        re.compile(
            r"\b(?:died|death|" + _KILLED + r"|suicide|took (?:his|her|their) own life|hospitali[sz]\w*|poison\w*|"
            r"seriously injured|overdose)",
            _I,
        ),
    ),
    (
        "legal",
        re.compile(
            r"\b(?:lawsuit|sued|sues|court|judge|tribunal|regulator\w*|fined|\bfine of|sanction\w*|settlement|"
            r"class action|attorney general|ftc|gdpr complaint|investigation by)",
            _I,
        ),
    ),
    (
        "non_production",
        re.compile(
            r"\b(?:staging|sandbox|test (?:environment|env|database|db|project|repo|account|data|run)|"
            r"dev(?:elopment)? (?:environment|env|database|db|server|instance)|in ci\b|local (?:dev|test) "
            r"(?:database|db|environment)|dry[- ]run|not (?:in )?production)",
            _I,
        ),
    ),
    (
        "production",
        re.compile(r"\b(?:production|prod\b|live (?:site|system|environment|database|traffic)|customer-facing)", _I),
    ),
    (
        "no_impact",
        re.compile(
            r"\b(?:no (?:user|customer|production|real|external)[- ]?(?:facing )?impact|no impact|no harm|"
            r"near[- ]miss|nothing was lost|no work was lost|caught (?:it )?before|was a no-op|no-op here|"
            r"without (?:any )?(?:user|customer) impact|never reached (?:users|customers|production)|"
            # in the passive or with a verb: "No customer resources were impacted", "did not affect any users"
            r"no (?:users?|customers?|clients?|tenants?)(?: \w+)? (?:were|was|have been|has been|are|is) "
            r"(?:impacted|affected)|(?:did|does|was|were)(?: not|n't) (?:impact|affect)(?:ed)? (?:any )?"
            r"(?:users|customers|clients|production))",
            _I,
        ),
    ),
    (
        "user_facing",
        re.compile(
            r"\b(?:users? (?:saw|see|got|received|were shown)|customers? (?:saw|got|received|complained)|"
            r"user-facing|customer-facing|reported by (?:a )?customers?)",
            _I,
        ),
    ),
]
