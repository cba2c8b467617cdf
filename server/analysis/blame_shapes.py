"""More shapes of blame, read anywhere in a text (server/analysis/blame.py applies them beside its own): a mistake
named as a noun with a person as its agent ("a mistake by a single sysadmin", "a keystroke error by a technician"),
a fronted "Without thinking, he ran ...", owning a mistake ("That mistake was mine", "an omission of mine", "I'm
sharing the blame"), accusing questions about a missing check ("Have you tested it on staging before deploying to
prod?"), "Please don't do this", a person doing something "that broke" a system, and judgements of people
("stupidity", "a fat-fingered user"). Questions, scolding and apologies, which blame.py applies with their own
rules, are in blame_remarks.py. Each pattern names the person in a group `agent` when there is one.
"""

import re

from agent_postmortem.analysis.blame_lexicon import BARE_PLURAL, NAME, PARTICIPLE, PERSON, ROLES, SYSTEM_HEADS

_I = re.IGNORECASE
_AGENT = r"(?P<agent>" + PERSON + r"|" + NAME + r")"
_MISTAKE_NOUN = r"(?:mistake|error|mis-?configuration|failure|oversight|typo|blunder|slip|screw-?up|omission)s?"
_OWNER = r"(?:mine|ours|his|hers|theirs|yours)"
_CHANGE = (
    r"(?:change|commit|pr|pull\s+request|patch|config|configuration|script|code|deploy|migration|push|update|edit|refactor|"
    r"rewrite|upgrade|"
    r"query|command|fix|instructions?|merge)s?"
)
_BROKE = (
    r"(?:broke|caused|introduced|took\s+(?:\S+\s+){0,3}?down|brought\s+(?:\S+\s+){0,3}?down|deleted|dropped|corrupted|"
    r"crashed|wiped|seems?\s+(?:to\s+(?:have\s+)?)?(?:be\s+)?(?:\w+ly\s+)?broken|(?:was|were|is|are)\s+(?:\w+ly\s+)?"
    r"(?:wrong|broken|incorrect|the\s+(?:cause|culprit|problem))|(?:was|were|is|are)n['’]?t\s+\w+\s+enough|"
    r"(?:was|were|is|are)(?:n['’]?t|\s+not|\s+never)\s+(?:\w+ly\s+)?(?:tested|reviewed|checked|verified|validated))"
)
# Something faulty, then who made it (SHAPES).
_FAULTY = r"\b(?:misconfigured|faulty|errant|erroneous|incorrect|wrong|buggy|mistaken|flawed)\s+(?:[^\s.;!?]+\s+){1,5}?"
_MADE_BY = r"(?P<agent>" + PERSON + r"|" + BARE_PLURAL + r"|" + NAME + r")"

# (rule, pattern): a pattern with a group `agent` blames that agent only when it is a person (not a system name).
SHAPES: list[tuple[str, re.Pattern[str]]] = [
    (  # "a mistake by a single sysadmin", not "a misconfiguration of a website managed by a vendor" (a mistake that
        # went unseen by a person is _PASSIVE_BY's: "the error was not caught by QA")
        "person_as_agent",
        re.compile(
            r"\b" + _MISTAKE_NOUN + r"\s+(?:[\w-]+\s+){0,4}?(?<!managed\s)(?<!operated\s)(?<!hosted\s)(?<!owned\s)"
            r"(?<!provided\s)(?<!maintained\s)(?<!run\s)(?<!used\s)(?<!built\s)(?<!developed\s)(?<!supported\s)"
            # found or fixed by a person is no mistake of theirs: "the error was seen by the on-call engineer"
            r"(?<!seen\s)(?<!noticed\s)(?<!spotted\s)(?<!found\s)(?<!caught\s)(?<!detected\s)(?<!reported\s)"
            r"(?<!flagged\s)(?<!identified\s)(?<!discovered\s)(?<!fixed\s)(?<!corrected\s)(?<!resolved\s)"
            r"by\s+(?P<agent>" + PERSON + r"|" + NAME + r"|(?:pilots|surgeons|nurses|doctors|physicians|engineers|"
            r"developers|technicians|contractors|employees|staff|air\s+traffic\s+controllers)\b)",
            _I,
        ),
    ),
    (  # a person in a relative clause with an omission or a mistake: "the technician or engineer, who misses a detail",
        # "the engineer who forgot to drain the node"
        "person_as_cause",
        re.compile(
            r"(?<!\bany)(?<!\bevery)(?<!\bno)(?P<agent>" + PERSON + r"|" + NAME + r"),?\s+who\s+"
            r"(?:\w+ly\s+)?(?:had\s+)?"
            r"(?:forgot|missed|misses|skipped|skips|ignored|overlooked|neglected|failed\s+to|didn['’]?t|did\s+not|"
            r"broke|messed\s+up|screwed\s+up|mistyped|misconfigured|deleted|dropped|wiped|accid\w{0,3}ally|"
            r"mistakenly|made\s+(?:a|the|an)\s+(?:mistake|error|typo))\b",
            _I,
        ),
    ),
    (
        "person_as_cause",
        re.compile(
            r"(?:^|(?<=[.!?])\s+)(?:without\s+(?:\w+\s+)?(?:thinking|checking|looking|reading|testing|asking|"
            r"double-checking)[^,.;]{0,40},|(?:by\s+(?:mistake|accident)|accid\w{0,3}ally|mistakenly|inadvertently|"
            r"unintentionally),?)\s+" + _AGENT + r"\s+\w+",
            _I,
        ),
    ),
    (
        "blame_word",
        re.compile(
            r"\b" + _MISTAKE_NOUN + r"\s+(?:(?:was|is|were|are)\s+(?:all\s+)?" + _OWNER + r"|of\s+" + _OWNER + r")\b|"
            # "you both can share the blame": the people addressed, not only the writer
            r"\b(?:I|we|you|they)(?:\s+(?:both|all|two))?(?:['’]m|['’]re|\s+am|\s+are|\s+can|\s+should|\s+must)?\s+"
            r"(?:sharing|share|take|taking|accept|accepting|shoulder\w*)\s+"
            r"(?:the\s+|full\s+|some\s+of\s+the\s+|my\s+share\s+of\s+the\s+|our\s+share\s+of\s+the\s+)?blame\b",
            _I,
        ),
    ),
    (
        "question",
        re.compile(
            r"\b(?:did|have|had)\s+(?P<agent>you|they)\s+(?:\w+\s+)?(?:test|check|run|review|read|verify|try)\w*\b"
            r"[^?.]{0,60}\bbefore\s+\w+ing\b",
            _I,
        ),
    ),
    ("scolding", re.compile(r"(?:^|(?<=[.!?:])\s+)(?:please\s+)?(?:don['’]?t|do\s+not)\s+do\s+(?:this|that)\b", _I)),
    (
        "person_as_cause",
        re.compile(
            _AGENT + r"\s+(?:pushing|deploying|running|merging|deleting|dropping|shipping|releasing|applying|driving|"
            r"digging|drilling|cutting|backing|crashing|unplugging)\s+"
            r"(?:\S+\s+){0,5}?(?:that|which)\s+(?:\w+\s+)?(?:broke|took\s+down|brought\s+down|deleted|wiped|caused|cut|"
            r"crashed|corrupted)\b",
            _I,
        ),
    ),
    (
        "possessive",
        re.compile(
            r"\b(?:my|our|his|her|their|your)\s+(?:(?:own|last|recent|latest|new|bad|quick|previous)\s+)?[\"“']?"
            + _CHANGE
            + r"[\"”']?\s+(?:[\w#]+\s+){0,2}?"
            + _BROKE
            + r"\b",
            _I,
        ),
    ),
    (  # a change a person made as the cause: "changes I made seem to have broken the build", "@bob's commits"
        "possessive",
        re.compile(
            r"\b" + _CHANGE + r"\s+(?:that\s+)?(?P<agent>I|we|he|she|they|you|" + NAME + r")\s+(?:\w+ly\s+)?(?:made|"
            r"pushed|did|wrote|merged|deployed|added|introduced|committed|shipped)\b[^.;!?]{0,40}?" + _BROKE + r"|"
            r"(?P<mention>(?<![\w.])@[\w-]+)['’]?s?\s+" + _CHANGE + r"\b",
            _I,
        ),
    ),
    (  # a person in a clause giving the cause: "It was because someone on the security team added a rule to prod"
        "person_as_cause",
        re.compile(
            r"\b(?:because|since|(?<!root\s)(?<!root-)cause)\s+"  # not the heading "Root cause" over a paragraph
            r"(?:of\s+)?(?P<agent>" + PERSON + r"|" + NAME + r")\s+(?:[\w-]+\s+){0,4}?"
            r"(?!(?:fixed|restored|resolved|reverted|mitigated|rolled|recovered|noticed|reported|asked|said)\b)"
            r"(?:\w+ed|ran|put|set|made|did|took|left|thought|wrote|broke|forgot|pushed|chose|gave)\b"
            r"(?=[^.;!?]*\b(?:prod|production|live|untested|without|wrong|broke|broken|down|outage|failed)\b)",
            _I,
        ),
    ),
    (  # a failure, then a person as its cause: "The problem occurred because you committed to remove the file."
        "person_as_cause",
        re.compile(
            r"\b(?:(?:problem|issue|outage|failure|incident|breakage|bug|error|crash|regression|downtime)s?\s+"
            r"(?:\w+\s+){0,3}?|(?:this|it|that|all\s+of\s+this)\s+(?:\w+\s+)?(?:happened|occurred)\s+)(?:because|since)\s+"
            r"(?:of\s+)?(?!(?:I|we)\b)(?P<agent>" + PERSON + r"|" + NAME + r")\s+"
            r"(?:\w+ly\s+)?(?!(?:fixed|restored|resolved|reverted|mitigated|rolled|recovered|noticed|reported|asked|said|"
            r"were|was|are|is|have|had|has)\b)(?:[\w-]+ed|ran|put|set|made|did|took|left|wrote|broke|forgot|pushed|chose|"
            r"gave)\b",
            _I,
        ),
    ),
    (  # the person named as the one who did it: "I was the one who handed it git credentials", "the one who made the
        # error"
        "person_as_cause",
        re.compile(
            r"\b(?:(?P<agent>" + PERSON + r"|" + NAME + r")\s+(?:was|were|am|is|are)\s+|as\s+)the\s+(?:one|ones|"
            r"person|people|guy|engineer)\s+(?:who|that)\s+(?:\w+ly\s+)?(?:made\s+(?:the|a|an|this|that)\s+"
            r"(?:error|mistake|call|change|decision)|handed|gave|left|approved|decided|pushed|deleted|dropped|ran|broke|"
            r"forgot|missed|skipped|deployed|merged|caused|introduced|wiped|disabled)\b|"
            # a cleft naming who did it: "It was the intern who typed rm -rf ...", not who found or fixed it
            r"\bit\s+was\s+(?P<cleft>" + PERSON + r"|" + NAME + r")\s+(?:who|that)\s+(?:\w+ly\s+)?(?!(?:found|noticed|"
            r"reported|fixed|caught|spotted|raised|flagged|saved|restored|resolved|helped|led|solved|discovered)\b)"
            r"(?:\w+ed|ran|put|set|made|did|took|left|wrote|broke|forgot|pushed|chose|gave|typed|hit|cut)\b",
            _I,
        ),
    ),
    # owning a wrong action: "for some reason I used the values", "i instead for whatever reason used", "somehow we
    # managed to turn two pages", "I just assumed the success meant ..."
    *(
        ("person_as_cause", re.compile(pattern, _I))
        for pattern in (
            r"\bfor\s+(?:some|whatever)\s+reason,?\s+(?P<agent>I|we)\s+(?:\w+\s+)?\w+ed\b",
            r"\b(?P<agent>I|we)\s+(?:\w+\s+){0,2}?for\s+(?:some|whatever)\s+reason\s+(?:\w+\s+)?\w+ed\b",
            r"\bsomehow,?\s+(?P<agent>I|we)\s+(?:\w+ly\s+)?(?:managed\s+to\s+(?!(?:fix|get|recover|restore|survive|"
            r"make|keep|save|finish|ship|resolve|avoid)\b)\w+|\w+ed\s+(?:\w+\s+)?(?:the\s+)?wrong)\b",
            r"(?-i:\b(?P<agent>I|we|We))\s+(?:just|simply|wrongly|naively|blindly|mistakenly)\s+assumed\b",
        )
    ),
    (  # a promise not to do it again: "I won't do that again", "we will never make that mistake again"
        "person_as_cause",
        re.compile(
            r"(?-i:\b(?P<agent>I|[Ww]e))\s+(?:won['’]t|will\s+not|will\s+never|['’]ll\s+never)\s+(?:do|make)\s+"
            r"(?:that|this|it|the\s+same\s+(?:mistake|thing)|that\s+mistake)\s+(?:\w+\s+)?again\b",
            _I,
        ),
    ),
    *(  # something faulty a person made: "a misconfigured firewall rule initially implemented by a third-party
        # vendor", "errant input that Amazon engineers entered"
        ("person_as_agent", re.compile(_FAULTY + made + r"\b", _I))
        for made in (
            r"(?:\w+ly\s+)?(?:implemented|introduced|written|added|configured|set\s+up|entered|typed|made|pushed|"
            r"committed|deployed|created)\s+by\s+" + _MADE_BY,
            r"(?:that|which)\s+" + _MADE_BY + r"\s+(?:had\s+)?(?:\w+ly\s+)?(?:entered|typed|wrote|made|added|pushed|"
            r"committed|deployed|ran|introduced|configured|set\s+up|created)",
        )
    ),
    (  # a mistake in the passive, then who acted: "Branch protection rules were inadvertently overwritten when we
        # added settings.yml"
        "person_as_cause",
        re.compile(
            r"\b(?:was|were|got|been)\s+(?:accid\w{0,3}ally|accidently|inadvertently|mistakenly|unintentionally|"
            r"unknowingly)\s+\w+(?:\s+(?:down|off|out|over|up))?\s+(?:when|after|as|while)\s+" + _AGENT + r"\s+\w+",
            _I,
        ),
    ),
    (  # promising to be careful next time: "We'll watch out next time.", "I will double-check next time"
        "person_as_cause",
        re.compile(
            r"(?-i:\b(?:I|[Ww]e))(?:['’]ll|\s+will|\s+shall)\s+(?:\w+\s+)?(?:watch\s+out|be\s+more\s+(?:careful|"
            r"attentive|vigilant)|pay\s+(?:more\s+)?attention|double-?check|check\s+(?:more\s+)?carefully|test\s+"
            r"(?:it\s+|more\s+)?(?:properly|thoroughly))\b[^.;!?]{0,30}?\bnext\s+time\b",
            _I,
        ),
    ),
    (  # whose fault: "it was my tech's fault", "the vendor's mistake"
        "blame_word",
        re.compile(
            r"\b(?:my|our|his|her|their|your)\s+(?:\w+\s+)?(?!(?:" + SYSTEM_HEADS + r")['’])(?-i:[a-z]\w+)['’]s\s+"
            r"(?:own\s+)?(?:fault|mistake|"
            r"screw-?up|oversight|blunder)\b",
            _I,
        ),
    ),
    (  # deserving the blame: "the lead does not deserve at least a significant portion of the blame"
        "blame_word",
        re.compile(
            r"(?<!nobody\s)(?<!no\sone\s)\b(?:deserves?|deserved|bears?|bore)\s+(?:\w+\s+){0,5}?(?:of\s+)?the\s+blame\b",
            _I,
        ),
    ),
    (  # diary-style self-blame without a subject: "Sorry, shouldn't have removed it", "Must have done something wrong."
        "person_as_cause",
        re.compile(
            r"(?:^|(?<=[.!?])\s+|(?:sorry|oops|whoops|ugh|argh|my\s+bad|damn|ah|oh|hmm|well|welp|meh|yeah|yep|ok|okay)[,!.]*\s+)(?:(?:should|must|could)"
            r"(?:n['’]?t|\s+not)?\s*(?:\s+have|['’]ve)\s+(?:\w+ly\s+)?" + PARTICIPLE + r"|(?:totally\s+|completely\s+)?"
            r"(?:forgot|accid\w{0,3}ally|accidently|mistakenly)\s+(?:to\s+)?\w+)",
            _I,
        ),
    ),
    (
        "judgement",
        re.compile(r"\b(?:stupidity|foolish(?:ness|ly)?|idiot(?:ic|s)?|bone-?headed|fat[- ]?fingered)\b", _I),
    ),
    (  # calling for a person's punishment: "I would fire that contractor immediately"
        "judgement",
        re.compile(
            r"\b(?:would|should|will|must|to|gonna)\s+(?:\w+\s+)?(?:fire|sack|punish|discipline|reprimand)\s+"
            r"(?:that|the|this|those|these)\s+(?:[\w-]+\s+)?(?:" + ROLES + r")\b",
            _I,
        ),
    ),
]

# Read anywhere, each with its own guard in blame.py: "human error" as a cause, judgements, and words of blame.
GLOBAL: list[tuple[str, re.Pattern[str]]] = [
    (
        "human_error",
        re.compile(
            r"(?<!not\s)(?<!no\s)\b(?:human|operator|user|pilot|engineer|developer|sysadmin|administrator|technician|"
            r"staff|employee|clerk|crew|air\s+traffic\s+controller|atc|surgeon|nurse)\s+error\b",
            _I,
        ),
    ),
    (
        "judgement",
        re.compile(
            r"\b(?:careless(?:ly|ness)?|negligen(?:t|ce|tly)|sloppy|lazy(?![- ]?(?:load|init|evaluat|import))|"
            r"incompeten(?:t|ce)|reckless(?:ly)?|stupid|dumb|inattentive|irresponsible|clumsy|be\s+more\s+careful)\b",
            _I,
        ),
    ),
    (
        "blame_word",
        re.compile(
            r"\b(?:(?:is|was|were|are)\s+(?:\w+ly\s+)?to\s+blame(?!\s+(?:myself|yourself|himself|herself|themselves|ourselves|me|him|"
            r"her|them|us|you|someone|anyone|others|people|the|a|an)\b)|blame\s+for\s+[^,.;]{1,40}?\s+lies\s+with|(?:fault|blame)\s+(?:of|lies\s+with|is\s+on|on)\s+(?!the\s+(?:"
            r"platforms?|systems?|process(?:es)?|tools?|procedures?)\b(?!\s+team))|(?:his|her|their|my|our|your)\s+(?:\([^()]{1,60}\)\s+)?(?:fault|bad|mistake|oversight|"
            r"carelessness|screw-?up|cock-?up|oopsie|oops|blunder|goof|slip-?up|f\*+k-?\s?up|fuck-?\s?up)|"
            # a person's faulty change, and a task that slipped someone's mind
            r"(?:his|her|their|my|our|your)\s+(?:erroneous|faulty|botched|buggy)\s+(?:commit|change|push|patch|config|"
            r"merge|deploy|update|edit)s?\b|\bslipped\s+(?:my|our|his|her|their|your)\s+mind\b|(?:his|her|their|my|our|your)\s+(?:own|\w+est|big|stupid|silly|dumb|bad)\s+"
            r"(?:fault|mistake|oversight|screw-?up)|(?:on|from)\s+my\s+part(?!\s+of\b)|(?:it|this|that)(?:['’]s|\s+is|\s+was)\s+(?:all\s+|entirely\s+|squarely\s+|totally\s+)?on\s+"
            r"(?:me|us|them|him|her|you|the\s+[\w-]+\s+(?:team|engineers?|devs?|developers?|folks|people))\b|"
            r"(?:it|this|that)(?:['’]s|\s+is|\s+was)\s+(?:me|us|my\s+doing|our\s+doing)\b(?!\s+who\s+(?:found|noticed|"
            r"reported|fixed|caught|spotted))|"
            r"to\s+be\s+blamed|(?:guy|person|people|one|ones|man|woman|party|engineers?|developers?)\s+to\s+blame\b)",
            _I,
        ),
    ),
]
NEGATED_FAULT = re.compile(
    r"\b(?:not|isn['’]?t|wasn['’]?t|aren['’]?t|weren['’]?t|no|none|never|rarely|seldom|hardly|nobody|noone)\b"
    r"(?:\s+\S+){0,5}?\s+"
    r"(?:fault|blame)\b"
    # a belief denied: "I do not think that the failure on build is my fault"
    r"|\b(?:do|does|did)(?:n['’]?t|\s+not)\s+(?:think|believe|feel)\b(?:\s+\S+){0,8}?\s+(?:fault|blame)\b",
    _I,
)
