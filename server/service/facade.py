"""`PostmortemService`: every use case behind one object, the one the MCP tools, the CLI, the SDK and the evals call.

It composes small use-case classes, each given exactly what it uses (store, action store, knowledge base, LLM
provider, clock, policy), and delegates to them; it holds no logic of its own and never imports `mcp`. Build it with
`build_service(settings, llm=..., clock=...)` (service/runtime.py) rather than by hand."""

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from agent_postmortem.analysis.blameless import BlamelessReport
from agent_postmortem.analysis.classify import DEFAULT_POLICY
from agent_postmortem.analysis.policy import TriagePolicy
from agent_postmortem.llm.base import LLM
from agent_postmortem.service.capture import Capture
from agent_postmortem.service.delegate import delegate
from agent_postmortem.service.drafting import Drafting, random_nonce
from agent_postmortem.service.followup import FollowUp
from agent_postmortem.service.importer import IMPORT_BATCH, Importer
from agent_postmortem.service.incidents import Incidents
from agent_postmortem.service.judging import Judging
from agent_postmortem.service.lessons import Lessons
from agent_postmortem.service.recurrence import Recurrence
from agent_postmortem.service.reports import ReportKind, Reports
from agent_postmortem.service.retrieval import Retrieval
from agent_postmortem.store.models import (
    Analysis,
    AnalysisReview,
    utcnow,
)
from agent_postmortem.store.records.actions import ActionStore
from agent_postmortem.store.records.incidents import IncidentStore
from agent_postmortem.store.search.knowledge import KnowledgeBase

__all__ = ["IMPORT_BATCH", "PostmortemService", "ReportKind"]

logger = logging.getLogger(__name__)


class PostmortemService:
    def __init__(
        self,
        *,
        store: IncidentStore,
        knowledge: KnowledgeBase,
        llm: Callable[[], LLM | None] = lambda: None,
        dedupe_window: timedelta = timedelta(hours=24),
        clock: Callable[[], datetime] = utcnow,
        nonce: Callable[[], str] = random_nonce,
        policy: TriagePolicy = DEFAULT_POLICY,
        draft_time_limit: Callable[[str], float] = lambda backend: 120.0,
        judging: Judging | None = None,
    ) -> None:
        """`llm` provides the configured LLM on the first draft (None: there is none); `clock` is the time every
        record is stamped with; `nonce` makes each prompt's data delimiter; `draft_time_limit` the seconds a draft by
        a backend may take; `judging` the configured model's judgements (a capture's category, blameless rewrites;
        default: none, the learned classifier and the rules decide)."""
        self.store = store
        self.actions = ActionStore(store)
        self.knowledge = knowledge
        self.clock = clock
        self.policy = policy
        self.judging = judging or Judging()
        self.incidents = Incidents(store=store, actions=self.actions, knowledge=knowledge, clock=clock)
        self.retrieval = Retrieval(store=store, knowledge=knowledge, actions=self.actions, clock=clock)
        self.recurrence = Recurrence(store=store, actions=self.actions, knowledge=knowledge, clock=clock)
        self.capture = Capture(
            store=store,
            retrieval=self.retrieval,
            recurrence=self.recurrence,
            policy=policy,
            clock=clock,
            dedupe_window=dedupe_window,
            judging=self.judging,
        )
        self.importer = Importer(store=store, knowledge=knowledge, policy=policy, clock=clock)
        self.followup = FollowUp(store=store, actions=self.actions, recurrence=self.recurrence, clock=clock)
        self.drafting = Drafting(
            store=store,
            actions=self.actions,
            retrieval=self.retrieval,
            llm=llm,
            clock=clock,
            nonce=nonce,
            time_limit=draft_time_limit,
        )
        self.reports = Reports(
            store=store,
            actions=self.actions,
            retrieval=self.retrieval,
            recurrence=self.recurrence,
            clock=clock,
            judging=self.judging,
        )
        self.lessons = Lessons(store=store, recurrence=self.recurrence, clock=clock)

    def close(self) -> None:
        """Let another process or service own the vector index (applying what the outbox still holds when this one
        owned it), let go of the exact index's files and close the database connections. The service may be used
        again: it reconnects, loads again, and owns the index only if it claims it again."""
        try:
            self.knowledge.release_index()
        except Exception:  # noqa: BLE001 - the records are safe; the next owner rebuilds what it misses
            logger.warning("could not release the vector index", exc_info=True)
        self.knowledge.exact.close()
        self.store.engine.dispose()

    # --- capture and records --------------------------------------------------------------------

    classify_incident = delegate("capture", Capture.classify_incident)
    capture_incident = delegate("capture", Capture.capture_incident)
    import_incidents = delegate("importer", Importer.import_incidents)
    get_incident = delegate("incidents", Incidents.get_incident)
    get_incidents = delegate("incidents", Incidents.get_incidents)
    list_incidents = delegate("incidents", Incidents.list_incidents)
    add_timeline_event = delegate("incidents", Incidents.add_timeline_event)
    resolve_incident = delegate("incidents", Incidents.resolve_incident)

    def review_analysis(
        self,
        incident_id: str,
        *,
        decision: str,
        by: str | None = None,
        note: str | None = None,
        analysis_id: int | None = None,
        check: Callable[[Analysis], None] | None = None,
    ) -> Analysis:
        """`analysis_id`: the analysis the reviewer read (`Analysis.id`); refused (NotTheLatestAnalysis) when a newer
        one was stored since. Without it, the latest analysis is reviewed, whichever it is. `check` sees the analysis
        as the review's write reads it (it raises to refuse the review): a form's "not reviewed since shown"."""
        given = {"decision": decision, "by": by or None, "note": note or None, "analysis_id": analysis_id}
        review = AnalysisReview.model_validate(given)
        return self.incidents.review_analysis(incident_id, review, check=check)

    knowledge_stats = delegate("incidents", Incidents.knowledge_stats)
    reindex = delegate("incidents", Incidents.reindex)
    redact_stored = delegate("incidents", Incidents.redact_stored)
    search_incidents = delegate("retrieval", Retrieval.search_incidents)

    # --- drafting and reports -------------------------------------------------------------------

    draft_context = delegate("drafting", Drafting.draft_context)
    analysis_prompt = delegate("drafting", Drafting.analysis_prompt)
    draft_analysis = delegate("drafting", Drafting.draft_analysis)
    write_it_yourself = delegate("drafting", Drafting.write_it_yourself)
    analysis_problems = delegate("drafting", Drafting.analysis_problems)
    record_analysis_text = delegate("drafting", Drafting.record_analysis_text)
    record_analysis = delegate("drafting", Drafting.record_analysis)
    render_report = delegate("reports", Reports.render_report)

    def check_blameless(self, text: str) -> BlamelessReport:
        return self.judging.check_blameless(text)

    # --- follow-through, patterns and lessons ---------------------------------------------------

    add_action_item = delegate("followup", FollowUp.add_action_item)
    add_drafted_action_items = delegate("followup", FollowUp.add_drafted_action_items)
    get_action_item = delegate("followup", FollowUp.get_action_item)
    update_action_item = delegate("followup", FollowUp.update_action_item)
    edit_action_item = delegate("followup", FollowUp.edit_action_item)
    list_action_items = delegate("followup", FollowUp.list_action_items)
    action_item_stats = delegate("followup", FollowUp.action_item_stats)
    recurring_patterns = delegate("recurrence", Recurrence.recurring_patterns)
    fix_effectiveness = delegate("recurrence", Recurrence.fix_effectiveness)
    incident_pattern = delegate("recurrence", Recurrence.incident_pattern)
    runbook = delegate("lessons", Lessons.runbook)
    regression_case = delegate("lessons", Lessons.regression_case)
    learn = delegate("lessons", Lessons.learn)
    learn_all = delegate("lessons", Lessons.learn_all)
