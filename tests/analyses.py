"""Two analyses of two different incidents that share the words any two incidents share ("service", "requests",
"deploy", "production"), and the incident the second one is about: for the draft guard's relevance check."""

from agent_postmortem.store.models import AnalysisDraft, DraftWhy
from tests.factories import draft

STARVED = {
    "title": "Kubernetes network infrastructure IP starvation",
    "description": "The production ingress load balancer could not scale: not enough free IP addresses in its subnets "
    "after the cluster was scaled up and new deployments added pods; services answered errors to requests.",
}


def _analysis(root_cause: str, whys: list[str], items: list[str]) -> AnalysisDraft:
    base = draft()
    proposed = base.action_items[0]
    return base.model_copy(
        update={
            "root_cause": root_cause,
            "whys": [DraftWhy(question=f"Why {n}?", answer=a) for n, a in enumerate(whys, 1)],
            "contributing_factors": [],
            "action_items": [proposed.model_copy(update={"title": t}) for t in items],
            "responsible": None,
        }
    )


FLAGS = _analysis(
    "The feature flags service was deployed to production with a cache change that invalidated every flag "
    "definition at once, so all requests fell through to the database.",
    [
        "The feature flags service answered errors to every request for 40 minutes in production.",
        "The rollout invalidated the flag definition cache on every pod at the same time.",
        "Each flag evaluation request then went to Postgres, which ran out of connections.",
    ],
    [
        "Stagger cache invalidation across pods during a rollout",
        "Serve the last known flag definitions on a cold cache",
    ],
)
STARVATION = _analysis(
    "The cluster's subnets were sized for the first nodes only, and nothing warned before pods and load balancer "
    "scaling used up their free IP addresses.",
    [
        "The ingress load balancer could not scale up: its subnets had no free IP addresses.",
        "Scaling the cluster to 10 nodes and 100+ new pods took an IP address each from the same subnets.",
        "The network infrastructure was built with small subnets and no alert on free addresses.",
    ],
    ["Replace the cluster network with larger subnets", "Alert when a subnet's free IP addresses fall under 20%"],
)

# Two incidents of one checkout gateway (the words of its infrastructure in both), and the analysis of each: the
# first one's analysis is close in meaning to the second incident too, but shares that incident's own words less.
GATEWAY_TIMEOUTS = {
    "title": "Checkout payments gateway timed out on card authorisations",
    "description": "The checkout payments gateway stopped answering card authorisation requests to Stripe for 25 "
    "minutes: every connection of its pool was held by calls that never returned after the pool was shrunk to 10.",
}
GATEWAY_DOUBLE_CHARGES = {
    "title": "Checkout payments gateway charged customers twice",
    "description": "The checkout payments gateway sent some card authorisation requests to Stripe twice: a retry "
    "after a slow answer carried no idempotency key, so 312 customers were charged twice for one order.",
}
TIMEOUTS = _analysis(
    "The gateway's connection pool was shrunk to 10 without a timeout on calls to Stripe, so calls that never "
    "returned held every connection and card authorisations timed out at checkout.",
    [
        "Card authorisations at checkout timed out: the payments gateway had no free connection in its pool.",
        "Every connection of the pool was held by a call to Stripe that never returned.",
        "The pool was shrunk to 10 connections and calls to Stripe had no timeout.",
    ],
    ["Set a timeout on every call the gateway makes to Stripe", "Alert when the gateway's pool has no free connection"],
)
DOUBLE_CHARGES = _analysis(
    "The gateway retried a slow card authorisation without an idempotency key, so Stripe took the retry as a new "
    "charge and customers were charged twice for one order.",
    [
        "Customers were charged twice: the payments gateway sent one card authorisation to Stripe twice.",
        "The gateway retried the authorisation after a slow answer.",
        "The retry carried no idempotency key, so Stripe could not tell it from a new charge.",
    ],
    ["Send an idempotency key with every authorisation", "Refund the 312 customers charged twice for one order"],
)
