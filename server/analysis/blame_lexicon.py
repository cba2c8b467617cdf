"""The words blame detection reads (server/analysis/blame.py): people, roles and names; system nouns that are never
people; the verbs and markers that make a person the cause of a failure; the actions that are blame only with a
failure in the same sentence. Patterns are strings, compiled where they are used."""

import re

_I = re.IGNORECASE
ROLES = (
    r"engineers?|developers?|devs?|programmers?|interns?|operators?|admins?|administrators?|on-?call(?:\s+engineers?)?|"
    r"sres?|analysts?|reviewers?|authors?|owners?|team(?:mates?)?|managers?|leads?|person|people|staff|employees?|"
    r"contractors?|testers?|qa(?:\s+team)?|dbas?|architects?|(?:new\s+)?hires?|juniors?|seniors?|colleagues?|"
    r"co-?workers?|maintainers?|typists?|humans?|individuals?|users?|customers?|ops(?:\s+team)?|devops|it\s+team|"
    r"support\s+team|release\s+managers?|product\s+managers?|pms?|folks|guys?|sysadmins?|technicians?|staffers?|"
    r"vendors?|founders?|officers?|consultants?|m[ae]n|wom[ae]n|boss(?:es)?|c[te]os|c[te]o|students?|newbies?|coders?|"
    r"crews?|workers?|members?|friends?|vandals?|installers?|electricians?|linem[ae]n|committers?|contributors?|"
    # insults name people: "some other wanker had forgotten ...", "the previous consulting goons put ..."
    r"wankers?|idiots?|morons?|goons?|clowns?|muppets?|numpties|numpty|bozos?|jerks?|"
    # people in incidents outside software: "the safety driver did not take control", "the attorney never checked"
    r"drivers?|pilots?|lawyers?|attorneys?|doctors?|nurses?|researchers?|scientists?|editors?|journalists?|"
    r"reporters?|clerks?|moderators?|recruiters?|teachers?|judges?|officials?|annotators?|label(?:l)?ers?|raters?|"
    r"trainers?|paralegals?|executives?|execs?|reps?|representatives?|accountants?|traders?|designers?|"
    # in aviation, hospitals, rail and buildings ("an air traffic controller failed to check"; a bare "controller" is
    # software)
    r"air\s+traffic\s+controllers?|surgeons?|physicians?|pharmacists?|paramedics?|anaesthetists?|anesthetists?|"
    r"anesthesiologists?|midwi(?:fe|ves)|signall?ers?|landlords?"
)
SYSTEM_HEADS = (
    r"agents?|bots?|sdks?|apis?|services?|pipelines?|jobs?|scripts?|migrations?|systems?|tools?|models?|llms?|"
    r"servers?|clusters?|databases?|dbs?|deploys?|deployments?|workers?|schedulers?|crons?|checks?|tests?|suites?|"
    r"processes|process|configs?|functions?|clients?|consumers?|proxies|proxy|gateways?|routers?|nodes?|pods?|"
    r"containers?|queues?|caches?|layers?|integrations?|plugins?|extensions?|libraries|library|frameworks?|apps?|"
    r"applications?|features?|flags?|rules?|guards?|filters?|classifiers?|retries|retry|loops?|hooks?|runners?|"
    r"configurations?|data|accounts?|settings|traffic|inputs?|sessions?|credentials|devices?|emails?|portals?"
)
PRONOUN = (
    r"\b(?:I|we|he|she|they|you|some\s?one|some\s?body|whoever|nobody|no\s+one|noone|everyone|everybody|us|me|him|"
    r"them)\b|"
    r"(?<![\w.])@[A-Za-z0-9][\w-]*"  # an @mention on GitHub is a person
)
# A role word naming a kind of record is a thing: "person properties", "the user table", "customer records".
RECORD_NOUNS = r"propert(?:y|ies)|records?|tables?|profiles?|fields?|attributes?|ids?|objects?|entit(?:y|ies)|rows?"
ROLE_NP = (
    r"(?:\b(?:(?:one|some|many|several|all|each|any|none|two|three)\s+of\s+)?"
    r"(?:the|a|an|our|their|his|her|one|that|this|these|those|some|your|my|every|another|other)\s+"
    r"(?:[\w'’()-]+\s+){0,2}"
    r"(?:" + ROLES + r")\b(?!\s+(?:" + SYSTEM_HEADS + r"|" + RECORD_NOUNS + r")\b))"
    r"|(?-i:\b(?:QA|ops|Ops|SRE|SREs|DBA|DevOps|IT)\b)(?!\s+(?:" + SYSTEM_HEADS + r"|suite|config|env\w*)\b)"
    # a role without a determiner at the head of a sentence or a heading: "On-call engineer missed alert"
    r"|(?:^|(?<=[.!?:]\s))(?-i:(?=[A-Z]))(?:[\w-]+\s+)?(?:" + ROLES + r")\b"
    r"(?!\s+(?:" + SYSTEM_HEADS + r"|error|errors|mistakes?|factors?|nature|beings?)\b)"
    r"|(?-i:\b(?:Engineer|Developer|Operator|Admin|Person|User)\s+[A-Z]\b)"
    # a person by number: "Team-member-1", "engineer 2"
    r"|\b(?:team-?member|engineer|developer|operator|admin|person|user|employee)[-_ ]?\d\b"
)
# Capitalised words that start sentences or name systems, never people.
NOT_NAMES = set(
    """The This That These Those It Its We Our Us They Their He She His Her You Your I My Me A An And But Or So If
    When Then After Before During Because Since While Once Until Unless Although Though However Also Later Finally
    First Second Third Next Last Meanwhile Unfortunately Luckily Fortunately Eventually Initially Instead Still Yet
    Nothing Everything Something Someone Nobody Everyone Each Every All Some Most Many Few No Not None Both Either
    Neither Here There Why What Who How Where Which Whose Root Cause Impact Summary Timeline Action Item Update
    Resolved Monitoring Investigating Identified Postmortem Incident Outage Error Errors Note Fix Please Thanks Today
    Yesterday Tomorrow Monday Tuesday Wednesday Thursday Friday Saturday Sunday January February March April May June
    July August September October November December Kafka Redis Postgres Postgresql Mysql Mongo Mongodb Docker
    Terraform Jenkins Ansible Kubernetes Helm Argo Airflow Celery Nginx Envoy Istio Consul Vault Sentry Grafana
    Prometheus Datadog Splunk Elastic Elasticsearch Python Node Rust Java Go Ruby Rails Django Flask React Vue Next
    Vercel Heroku Netlify Stripe Slack Jira Confluence Github Gitlab Git Bitbucket Linux Ubuntu Debian Windows Mac
    Chrome Safari Firefox Android Apple Google Amazon Azure Microsoft Meta Twitter Facebook Openai Anthropic Mistral
    Claude Gemini Copilot Cursor Codex Replit Llama Ollama Langchain Langgraph Pydantic Bard Alexa Siri Watson Tay
    Chatgpt Gpt Sora Dall Bedrock Vertex Lambda Cloudflare Akamai Fastly Railway Supabase Firebase Mongo Snowflake
    Spark Hadoop Hive Presto Trino Zookeeper Etcd Calico Cilium Traefik Okta Auth Oauth Sso Cloudwatch Fluentd
    Loki Tempo Jaeger Opentelemetry Goose Cline Aider Devin Kiro Windsurf Zed Warp Codespaces Actions Pages Sonnet
    Opus Haiku Grok Qwen Deepseek Phi Gemma Whisper Sdk Api Cli Ui Ux Db Dns Tls Ssl Http Https Json Yaml Sql
    Revert Add Remove Update Merge Bump Use Move Rename Refactor Make Set Allow Ensure Handle Skip Drop Disable Enable
    Improve Clean Delete Deploy Release Support Document Test Check Run Rollback Hotfix Chore Feat Docs Lesson Learned
    Warning Maybe Apparently Oh Ok Okay Hmm Yes Sorry Overall Anyway Despite Long Story Obviously Perhaps
    Through Throughout Across Within Without With Between Against Among Upon Into Onto Over Under About Around Along
    Behind Beyond Per Via Like Unlike Given Due Regardless Thus Hence Therefore Moreover Furthermore Besides Otherwise
    Turns Seems Seem Looks Sounds Ah Well Yea Yeah Yep Nope Sure Probably Possibly Basically Actually Honestly
    Clearly Sadly Thankfully Hopefully Ironically Interestingly Again Just Only Even Almost Never Always Often
    Sometimes Usually Soon Now Tonight Somehow Unintentionally Accidentally
    Orchestrator Assistant Planner Coder Executor Critic Verifier Solver Retriever Router Supervisor Navigator Browser
    Surfer Websurfer Filesurfer Terminal Autopilot Chatbot Summarizer Validator Checker Responder Scheduler Crawler
    Scraper Parser Compiler Interpreter Linter Issue Issues Bug Task Ticket Nightly Daily Weekly Hourly Scheduled
    Automated Automatic Internal External Legacy Production Staging Review Reviews Rollout Backup Backups Config
    Code Alerting Logging""".split()
)
NAME = r"(?-i:\b(?<![-./@])[A-Z][a-z]{2,}\b)(?!['’]?\s*(?:" + SYSTEM_HEADS + r")\b)"
PERSON = r"(?:" + PRONOUN + r"|" + ROLE_NP + r")"

# What follows a counterfactual "should have": a past participle ("should have pinned", "should've known"), not a
# noun ("shouldn't have write access").
PARTICIPLE = (
    r"(?:(?:double|triple|re)[- ]?)?"
    r"(?:\w+(?:ed|en|wn|ght)|been|done|made|run|set|put|let|hit|read|got|had|told|found|kept|held|paid|sent|spent|"
    r"built|left|lost|met|shut|split|stood|understood|begun|spotted|caught)\b"
)
WITHOUT_CHECK = (
    r"without\s+(?:first\s+|\w+ly\s+)?(?:review(?:ing)?|reading|testing|checking|asking|approval|telling|verifying|running|"
    r"looking|a\s+review|any\s+review|double-checking|consulting|a\s+backup|backing\s+up|(?:re)?building|compiling|"
    r"(?:any|proper|adequate|sufficient|further)\s+(?:[\w-]+\s+)?(?:testing|tests?|review|checks?|validation|verification|qa)|"
    r"thinking|realizing|realising|noticing|permission|consent|a\s+(?:test|benchmark|rollback\s+plan|plan|ticket|"
    r"change\s+request)|tests?\b|authori[sz]ation|(?:a\s+)?sign-?off|coordinating|"
    r"informing|notifying|warning|telling\s+anyone|implementing|adding\s+(?:any\s+)?(?:tests?|checks?|"
    r"monitoring|alerts?|safeguards?|guardrails?|controls?))"
)
BLAME_VERB = (
    r"forgot|forget|forgets|forgotten|missed|misses|skipped|ignored|ignores|overlooked|neglected|failed\s+to|"
    r"fails\s+to|"
    # an answer not received is no omission: "I emailed the maintainer but did not get any answer"
    r"(?:didn['’]?t|did\s+not|didnt)(?!\s+(?:get|receive|hear)\s+(?:back\s+)?(?:any\s+|a\s+|an\s+)?(?:answer|reply|"
    r"response|feedback|word)s?\b)|(?<!to\s)never|does(?:n['’]?t|\s+not)(?!\s+(?:know|think|have|seem|matter|mean|need|want|look|appear|"
    r"apply|exist|happen|make\s+sense|work|help|care|understand|support|say|like|believe|see|get|affect)\b)|"
    # the past perfect of an omission ("Bob had not reinstalled the app"), not of an experience ("had not seen")
    r"(?:had(?:n['’]?t|\s+not))\s+(?:\w+ly\s+)?(?!(?:been|seen|had|heard|experienced|noticed|encountered|received|"
    r"found|yet|got|gotten)\b)\w+ed\b|messed\s+up|screwed\s+up|botched|broke|breaks|mistyped|misread|"
    r"misconfigured|mistakenly|accidentally|accidently|inadvertently|regrettably|carelessly|by\s+mistake|"
    r"by\s+accident|bothered|typed\s+the\s+wrong(?!-)|(?:picked|used|chose|ran|edited|deployed|pushed)\s+the\s+wrong(?!-)|"
    # any act on the wrong thing ("entered the wrong dosage"), not finding it; rubber-stamping; letting a thing lapse
    r"(?!(?:noticed|found|spotted|identified|fixed|corrected|reverted|caught|flagged|reported)\b)(?:\w+ed|gave|sent|put|"
    r"set|told|chose|took|wrote)\s+(?:in\s+|out\s+|(?:the|a|an|our|his|her|their)\s+(?:[\w-]+\s+){1,2}?)?(?:the|a)\s+"
    r"wrong(?!-)|(?:ran|run|typed|executed|deployed|applied|pushed|entered|used|restored|restarted|rebooted|replaced|"
    r"installed|removed|unplugged|plugged|connected|came|went|drove|logged\s+in(?:to)?|sent|posted|uploaded|merged|"
    r"committed|performed|operated|administered|amputated|landed|flew|drilled|dug|parked|delivered|labell?ed|wired|"
    r"mounted|formatted|cleared)\s+(?:\S+\s+){0,4}?"
    r"(?:on|to|against|in|into|at|from|with)\s+(?:the|a)\s+wrong(?!-)|"
    # doing what was not meant to be done ("you merged something that wasn't supposed to get merged")
    r"(?:merged|pushed|deployed|committed|released|published|sent|ran|deleted|removed|shipped|uploaded|posted)\s+"
    r"(?:\S+\s+){0,4}?(?:that|which)\s+(?:was|were)(?:n['’]t|\s+not)\s+supposed\s+to|(?:decided|chose|opted)\s+not\s+to\s+(?:page|escalate|"
    r"tell|inform|notify|roll\s+back|test|check|review|wait)|rubber-?stamped|mixed\s+up|dropped\s+the\s+ball|insisted\s+on\s+(?:skipping|bypassing|ignoring|disabling)|let\s+(?:\S+\s+){1,4}?(?:expire|lapse|run\s+out|fill\s+up|rot)|"
    # a verb of getting it wrong ("misjudged the load", "mislabeled the batch"); snoozing or dismissing a warning
    r"(?:(?<=have\s)|(?<=has\s)|(?<=had\s)|(?<=['’]ve\s)|(?<=['’]s\s))broken(?!\s+(?:down|in)\b)|did\s+nothing(?=\s*(?:[.,;!?]|$|and\b|about\b))|took\s+no\s+action|keeps?\s+(?:breaking|forgetting|skipping|ignoring|"
    r"deleting|missing|pushing\s+(?:to\s+main|secrets|broken)|committing\s+(?:secrets|credentials|keys|passwords))|"
    r"(?<!was\s)(?<!were\s)(?<!been\s)(?<!is\s)(?<!are\s)(?<!be\s)mis(?!s(?:ion|ing))\w{2,}(?:ed|led)|misunderstood|mistook|misheard|(?:snoozed|dismissed|muted)\s+(?:the\s+|an?\s+|"
    r"every\s+|all\s+)?(?:\w+\s+)?(?:alerts?|alarms?|warnings?|pages?|pagers?|notifications?)|overruled|"
    r"stopped\s+(?:double-?)?(?:checking|testing|reviewing|verifying|reading|monitoring|looking)|"
    r"(?:was|were)\s+(?:looking\s+at|watching|texting\s+on|scrolling|using|on)\s+(?:his|her|their|a)\s+phone|"
    r"(?:was|were)\s+(?:distracted|asleep)|fell\s+asleep|dozed\s+off|"
    r"(?:should|could|would|must)(?:n['’]?t|\s+not)?\s*(?:\s+have|['’]ve|\s+of)\b"
    r"(?=\s+(?:\w+ly\s+)?" + PARTICIPLE + r")|"
    r"ought\s+to\s+have|was\s+supposed\s+to|(?:decided|chose|opted)\s+to\s+(?:skip|ignore|bypass|disable|"
    r"override)|" + WITHOUT_CHECK + r"|will\s+be\s+more\s+careful|"
    r"fat[- ]?finger(?:s|ed)?|(?:fucked|fucks|messes|screws)\s+up|borked|"
    r"(?:was|were|wasn['’]?t|weren['’]?t|not)\s+paying\s+(?:enough\s+|close\s+|much\s+|any\s+)?attention|"
    r"(?:had\s+)?(?:made|makes|make|making)\s+(?:(?:a|an|the|two|three|several|many|some|one|at\s+least|\w+)\s+){0,3}?"
    r"(?:mistakes?|typos?|blunders?|slip-?ups?|errors?(?!\s+(?:handl|messag|pag|cod|rat|budget)))"
)
ACTION = (
    r"deleted|dropped|wiped|removed|truncated|overwrote|overwritten|destroyed|erased|purged|ran|run|executed|pushed|"
    r"force-pushed|deployed|merged|shipped|released|rolled\s+out|changed|committed(?!\s+to\s+(?:a|an|\w+ing)\b)|disabled|turned\s+off|killed|"
    r"typed|applied|edited|modified|updated|upgraded|migrated|approved|published|sent|emailed|cc['’]?d|clicked|"
    r"pushes|deletes|drops|runs|deploys|merges|commits|executes|pasted|copied|hard-?coded|unplugged|unplugs|spilled"
)
FAILURE_CONTEXT = re.compile(
    r"\b(?:prod|production|live|customers?['’]?|outage|broke|broken|took\s+down|brought\s+down|taking\s+down|"
    r"down\s+for|by\s+mistake|accidentally|mistakenly|without|wrong|belonged\s+to\s+others|other\s+people['’]s|"
    r"data\s+loss|lost|regrettably|caused|causing|failed|failing|errors?|incident|overwr\w+|destroyed|corrupt\w*|"
    r"unusable|went\s+(?:down|dark)|crash\w*|mess|damage\w*|disaster|secret|leak\w*|exposed|phishing|malicious|"
    r"fake|fraudulent|spoofed|scam|"
    r"publicly|public\s+(?:repo\w*|bucket|channel|endpoint|internet|website))\b",
    _I,
)
CLAUSE_END = r"[.;:!?\n]|,\s+(?:but|so|which|while|whereas)\b|\s+(?:because|since|although|(?<!\beven\s)though)\b"
# A word before a plural role that makes it software: "agent workers", "I/O-bound workers", "Kubernetes operators".
SOFTWARE_MODIFIER = (
    r"(?:agents?|queue|background|celery|sidekiq|job|task|thread|process|server|cloud|build|ci|k8s|kubernetes|async|"
    r"serverless|gunicorn|uvicorn|web|api|gpu|cpu|inference|model|llm|[\w/]*-bound|kernel|device|graphics|video|audio|"
    r"network|usb|printer|display|storage|disk|database|db|jdbc|odbc|nvidia|amd|intel|wifi|bluetooth)"
)
# People named by a bare plural role, without a determiner: "third-party construction crews", "Engineers".
BARE_PLURAL = (
    r"(?<![\w'’-])(?:[\w-]+\s+){0,2}?(?:engineers|developers|devs|contractors|crews|workers|operators|admins|technicians|"
    r"interns|vandals|employees|staffers|people|folks|staff|personnel|officials|management|leadership|executives|"
    r"marketing|sales|finance|legal|pilots|surgeons|nurses|doctors|physicians|air\s+traffic\s+controllers)\b"
)
# Verbs that are a failure by themselves when a person does them ("I took down production", "he wiped a live
# database"): read by blame.py after a person as well as its blame verbs.
DAMAGE = (
    r"took\s+(?:\S+\s+){0,3}?(?:down|offline)|brought\s+(?:\S+\s+){0,3}?down|knocked\s+(?:\S+\s+){0,3}?(?:out|offline)|"
    r"crashed|nuked|trashed|massacred|wiped|slipped|goofed|fumbled|blundered|f\*+ed\s+up|damaged|sabotaged|"
    # physical damage: "kicked loose the power cable", "he has unplugged the switch", "spilled coffee into it"
    r"kicked\s+(?:\S+\s+){0,3}?(?:out|loose|over)|knocked\s+(?:\S+\s+){0,3}?(?:over|loose)|unplugged|spilled|spilt|"
    r"(?:fuck|fucks|fucked|mess|messes|messed|screw|screws|screwed)\s+(?:\S+\s+){1,2}?up\b|"
    r"(?:cut|severed|sliced|crushed)\s+(?:\S+\s+){0,2}?(?:underground\s+)?(?:cables?|cabling|lines?|fib(?:er|re)s?|"
    r"wires?|conduits?|power|pipes?)\b|"
    # destroying data at a scale: "deleted roughly 12,000 user records", "dropped all the tables"
    r"(?:deleted|dropped|wiped|erased|truncated|destroyed|purged|overwrote|nuked)\s+(?:\w+\s+){0,2}?"
    r"(?:all|every|\d[\d,.]*\s*(?:k|m|million|thousand)?|the\s+(?:entire|whole))\s+"
    r"(?:(?!(?:stale|old|unused|obsolete|temporary|temp|test|duplicate|orphaned|expired)\b)\S+\s+){0,2}?"
    r"(?:records?|rows?|lines?|tables?|users?|data|databases?|accounts?|entries|documents?|customers?|backups?|"
    r"folders?|director(?:y|ies)|repos?|repositories|projects?|drives?|disks?|clusters?|buckets?|servers?|site|"
    r"website|codebase)\b|"
    # destroying a data store ("truncated the events table", "wiped the shared drive"), not a scratch one
    r"(?:deleted|dropped|wiped|truncated|erased|destroyed|purged|nuked|overwrote)\s+(?:the|a|an|our|their|his|her|my|"
    r"\w+['’]s)\s+(?:(?!(?:stale|old|unused|obsolete|temporary|temp|test|scratch|duplicate|orphaned|expired|empty|dev|"
    r"local)\b)[\w-]+\s+){0,2}?(?:tables?|databases?|db|buckets?|volumes?|clusters?|index(?:es)?|drives?|disks?|"
    r"backups?|production|prod)\b|"
    # leaving something exposed, switching a safeguard off
    r"left\s+(?:\S+\s+){1,4}?(?:open|public|publicly\s+\w+|exposed|unlocked|unencrypted|unprotected|unattended|"
    r"world-readable)\b|(?:shared|posted|published|pasted|uploaded|leaked|committed|pushed|copied|emailed|sent)\s+"
    r"(?:\S+\s+){0,5}?(?:on|to|in|into|onto)\s+(?:a|an|the|their|his|her|my)\s+(?:\w+\s+)?(?:public|personal|open)\b"
    # a promise made in public is no leak: "committed to a public post-mortem"
    r"(?!\s+(?:post-?mortems?|apolog\w+|statements?|retrospectives?|roadmaps?|commitments?)\b)|"
    r"(?:emailed|sent|forwarded|shared|posted|cc['’]?d)\s+(?:\S+\s+){0,5}?to\s+(?:the\s+)?(?:whole|entire)\s+(?:company|"
    r"team|list|org\w*|internet|world)\b|approved\s+(?:his|her|their|my|your|our)\s+own\s+(?:prs?|pull\s+requests?|"
    r"merge\s+requests?|changes?|code|commits?)\b|"
    # over-permissioning, secrets in code, rewriting shared history
    r"made\s+(?:it|them|the\s+[\w-]+)\s+(?:world-readable|public(?:ly\s+\w+)?)\b|"
    # telling someone or something to do harm; too much power handed over; a secret shared; training on the test set
    r"(?:told|asked|instructed|ordered|forced|pressured)\s+(?:\S+\s+){1,3}?to\s+(?:skip|ignore|bypass|disable|"
    r"force-?push|promise|lie|hide|deploy\s+(?:\S+\s+){0,3}?before)\b(?!\s+(?:anything|nothing)\b)|\w+ed\s+(?:\S+\s+){0,8}?with\s+(?:full|"
    r"admin|root|unrestricted|superuser)\s+(?:write\s+)?(?:access|permissions|rights|privileges)|let\s+(?:the|a|an|our)\s+"
    r"(?:\w+\s+)?(?:agent|bot|model|ai|assistant|llm|script)\s+(?:\S+\s+){0,4}?(?:with\s+sudo|as\s+root|unsupervised|"
    r"unattended)|(?:shared|posted|pasted|sent|leaked)\s+(?:\S+\s+){0,3}?(?:api\s+keys?|passwords?|tokens?|secrets?|"
    r"credentials)\s+(?:in|on|to|into|via)\b|(?:trained|tuned|fitted|fit)\s+(?:\S+\s+){0,6}?on\s+(?:\S+\s+){0,4}?"
    r"test\s+(?:set|data|split)\b|(?:rejected|arrested|accused|fired|denied|flagged|convicted|charged|banned|suspended|"
    r"failed|expelled|evicted)\s+(?:\S+\s+){0,4}?(?:based|relying)\s+(?:only|solely|entirely|purely)\s+on\b|"
    r"left\s+(?:\S+\s+){0,3}?(?:tokens?|keys?|passwords?|secrets?|credentials)\s+(?:in|on|inside)\b|force-?merged|merged\s+"
    r"(?:\S+\s+){0,3}?over\s+(?:\S+\s+){0,2}?(?:failing|failed|red)\b|(?:uploaded|copied|exported|downloaded|moved)\s+"
    r"(?:\S+\s+){0,3}?(?:prod(?:uction)?|customer|user|patient|payroll)\s+(?:dump|data|database|backup|records|list)\b|"
    r"(?:gave|granted|handed)\s+(?:\S+\s+){1,3}?(?:write|admin|root|full|production|prod|unrestricted|superuser)\s+"
    r"(?:access|rights|privileges|permissions)|(?:introduced|caused|created|triggered)\s+(?:an?\s+|the\s+)?(?:[\w-]+\s+)?"
    r"(?:bug|regression|loop|outage|incident|breakage|deadlock|race\s+condition|memory\s+leak|vulnerability|"
    r"(?:near[- ])?collision|crash|blackout|derailment|explosion|fire|near[- ]miss|overdose|accident)\b|"
    r"hard-?coded\s+(?:\S+\s+){0,3}?(?:tokens?|passwords?|keys?|secrets?|credentials)\b|force-?pushed\s+(?:\S+\s+){0,4}?"
    r"(?:over|onto|to)\s+(?:the\s+)?(?:main|master|prod\w*|release\w*|shared|protected)\b|(?:bypassed|overrode|circumvented|(?:disabled|turned\s+off|switched\s+off)(?=\s+(?:the|a|an|"
    r"all|our|their|his|her|\w+['’]s)?\s*(?:[\w-]+\s+){0,2}?(?:safety|interlocks?|protections?|safeguards?|2fa|mfa|"
    r"firewall|validation|confirmations?|approvals?)\b))\s+(?:the|a|an|all|our|their|his|her)?\s*(?:[\w-]+\s+){0,2}?(?:safety|interlocks?|protections?|"
    r"guards?|safeguards?|2fa|mfa|validation|verification|firewall|approvals?|reviews?|checks?|canary\w*|shutdowns?|"
    r"limits?|alarms?|warnings?)\b"
)
