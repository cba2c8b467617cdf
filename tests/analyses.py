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
