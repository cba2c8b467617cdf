"""`PostmortemService`: every use case behind one object, the one the MCP tools, the CLI, the SDK and the evals call.

It composes small use-case classes, each given exactly what it uses (store, action store, knowledge base, LLM
provider, clock, policy), and delegates to them; it holds no logic of its own and never imports `mcp`. Build it with
`build_service(settings, llm=..., clock=...)` (service/runtime.py) rather than by hand."""

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from agent_postmortem.analysis.blameless import BlamelessReport
from agent_postmortem.analysis.classify import DEFAULT_POLICY
from agent_postmortem.analysis.learn import RegressionCase, RunbookEntry
from agent_postmortem.analysis.policy import TriagePolicy
from agent_postmortem.llm.base import LLM
from agent_postmortem.service.capture import IMPORT_BATCH, Capture
from agent_postmortem.service.drafting import DraftContext, Drafting, Progress, random_nonce
from agent_postmortem.service.followup import FollowUp
from agent_postmortem.service.incidents import Incidents
from agent_postmortem.service.judging import Judging
from agent_postmortem.service.lessons import Lessons
from agent_postmortem.service.recurrence import Recurrence, Rows
from agent_postmortem.service.reports import ReportFormat, ReportKind, Reports
from agent_postmortem.service.results import (
    ActionItemList,
    ActionStats,
    CaptureResult,
    ClassifyResult,
    EffectivenessReport,
    ImportResult,
    IncidentList,
    Learned,
    PatternList,
    SearchResult,
    Stats,
    WriteItYourself,
)
from agent_postmortem.service.retrieval import Retrieval
from agent_postmortem.store.filters import ListOrder, SearchFilters
from agent_postmortem.store.models import (
    ActionItem,
    ActionItemCreate,
    Analysis,
    AnalysisDraft,
    AnalysisReview,
    Attribution,
    Incident,
    IncidentCreate,
    SeedIncident,
    TimelineEventCreate,
    utcnow,
)
from agent_postmortem.store.records.actions import ActionStore
from agent_postmortem.store.records.incidents import IncidentStore
from agent_postmortem.store.search.knowledge import KnowledgeBase, Mode

__all__ = ["IMPORT_BATCH", "PostmortemService", "ReportKind"]


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
        self.retrieval = Retrieval(store=store, knowledge=knowledge)
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

    # --- capture and records --------------------------------------------------------------------

    def classify_incident(self, data: IncidentCreate) -> ClassifyResult:
        return self.capture.classify_incident(data)

    def capture_incident(
        self,
        data: IncidentCreate,
        *,
        history: Sequence[TimelineEventCreate] = (),
        attribution: Attribution | None = None,
    ) -> CaptureResult:
        return self.capture.capture_incident(data, history=history, attribution=attribution)

    def import_incidents(
        self,
        rows: Iterable[SeedIncident],
        *,
        batch: int = IMPORT_BATCH,
        progress: Callable[[int], None] = lambda n: None,
    ) -> ImportResult:
        return self.capture.import_incidents(rows, batch=batch, progress=progress)

    def get_incident(self, incident_id: str) -> Incident:
        return self.incidents.get_incident(incident_id)

    def list_incidents(
        self, *, limit: int = 20, offset: int = 0, filters: SearchFilters | None = None, order: ListOrder = "newest"
    ) -> IncidentList:
        return self.incidents.list_incidents(limit=limit, offset=offset, filters=filters, order=order)

    def add_timeline_event(self, incident_id: str, event: TimelineEventCreate) -> Incident:
        return self.incidents.add_timeline_event(incident_id, event)

    def resolve_incident(self, incident_id: str, *, status: str = "resolved", note: str | None = None) -> Incident:
        return self.incidents.resolve_incident(incident_id, status=status, note=note)

    def review_analysis(
        self, incident_id: str, *, decision: str, by: str | None = None, note: str | None = None
    ) -> Analysis:
        review = AnalysisReview.model_validate({"decision": decision, "by": by or None, "note": note or None})
        return self.incidents.review_analysis(incident_id, review)

    def knowledge_stats(self) -> Stats:
        return self.incidents.knowledge_stats()

    def reindex(self) -> int:
        return self.incidents.reindex()

    def search_incidents(
        self,
        *,
        query: str | None = None,
        incident_id: str | None = None,
        limit: int = 5,
        offset: int = 0,
        mode: Mode = "hybrid",
        filters: SearchFilters | None = None,
    ) -> SearchResult:
        return self.retrieval.search_incidents(
            query=query, incident_id=incident_id, limit=limit, offset=offset, mode=mode, filters=filters
        )

    # --- drafting and reports -------------------------------------------------------------------

    def draft_context(self, incident_id: str, *, nonce: str | None = None) -> DraftContext:
        return self.drafting.draft_context(incident_id, nonce=nonce)

    def analysis_prompt(self, incident: Incident) -> tuple[str, str]:
        return self.drafting.analysis_prompt(incident)

    def draft_analysis(self, incident_id: str, *, progress: Progress | None = None) -> Analysis:
        return self.drafting.draft_analysis(incident_id, progress=progress)

    def write_it_yourself(self, incident_id: str, *, why: str) -> WriteItYourself:
        return self.drafting.write_it_yourself(incident_id, why=why)

    def record_analysis_text(
        self, context: DraftContext, text: str, *, generated_by: str, llm_model: str | None = None
    ) -> Analysis:
        return self.drafting.record_analysis_text(context, text, generated_by=generated_by, llm_model=llm_model)

    def record_analysis(
        self,
        incident_id: str,
        draft: AnalysisDraft,
        *,
        generated_by: str,
        llm_model: str | None = None,
        accepted: bool = False,
    ) -> Analysis:
        return self.drafting.record_analysis(
            incident_id, draft, generated_by=generated_by, llm_model=llm_model, accepted=accepted
        )

    def render_report(self, incident_id: str, *, kind: ReportKind = "full", format: ReportFormat = "markdown") -> str:
        return self.reports.render_report(incident_id, kind=kind, format=format)

    def check_blameless(self, text: str) -> BlamelessReport:
        return self.judging.check_blameless(text)

    # --- follow-through, patterns and lessons ---------------------------------------------------

    def add_action_item(self, incident_id: str, item: ActionItemCreate, *, by: str | None = None) -> ActionItem:
        return self.followup.add_action_item(incident_id, item, by=by)

    def add_drafted_action_items(self, incident_id: str) -> list[ActionItem]:
        return self.followup.add_drafted_action_items(incident_id)

    def get_action_item(self, action_id: str) -> ActionItem:
        return self.followup.get_action_item(action_id)

    def update_action_item(self, action_id: str, *, by: str | None = None, **changes: Any) -> ActionItem:
        return self.followup.update_action_item(action_id, by=by, **changes)

    def list_action_items(self, *, limit: int = 50, offset: int = 0, **filters: Any) -> ActionItemList:
        return self.followup.list_action_items(limit=limit, offset=offset, **filters)

    def action_item_stats(self, *, min_size: int = 3) -> ActionStats:
        return self.followup.action_item_stats(min_size=min_size)

    def recurring_patterns(self, *, min_size: int = 3, limit: int = 20) -> PatternList:
        return self.recurrence.recurring_patterns(min_size=min_size, limit=limit)

    def fix_effectiveness(self, *, min_size: int = 3, limit: int = 50) -> EffectivenessReport:
        return self.recurrence.fix_effectiveness(min_size=min_size, limit=limit)

    def runbook(self, key: str, *, min_size: int = 3, groups: list[Rows] | None = None) -> RunbookEntry:
        return self.lessons.runbook(key, min_size=min_size, groups=groups)

    def regression_case(self, incident_id: str) -> RegressionCase:
        return self.lessons.regression_case(incident_id)

    def learn(self, incident_id: str, *, min_size: int = 3) -> Learned:
        return self.lessons.learn(incident_id, min_size=min_size)

    def learn_all(self, *, min_size: int = 3, limit: int = 100_000) -> tuple[list[RegressionCase], list[RunbookEntry]]:
        return self.lessons.learn_all(min_size=min_size, limit=limit)
