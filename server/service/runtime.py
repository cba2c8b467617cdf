"""The one place that builds real clients: the database engine, chromadb, the embedder and the LLM (through
llm/registry.py), composed into the service by `build_service`.

Heavy modules (SQLAlchemy, chromadb, openai, torch) are imported inside the builders, so that
`postmortem serve` answers the MCP handshake before any of them is loaded.
"""

from __future__ import annotations

import logging
import zlib
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import cache
from typing import TYPE_CHECKING

from agent_postmortem.config import Settings
from agent_postmortem.service.lazy import EMPTY_HINT, RETRY_OPEN, LazyService, transient

if TYPE_CHECKING:
    from agent_postmortem.analysis.blame_learned import Judge
    from agent_postmortem.llm.base import LLM, Provider
    from agent_postmortem.service.facade import PostmortemService
    from agent_postmortem.service.judging import Judging
    from agent_postmortem.store.index.owner import Ownership
    from agent_postmortem.store.records.incidents import IncidentStore
    from agent_postmortem.store.search.embedding import Embedder

logger = logging.getLogger(__name__)

__all__ = ["EMPTY_HINT", "RETRY_OPEN", "LazyService", "build_judging", "build_service", "make_embedder", "transient"]


def build_service(
    settings: Settings,
    *,
    embedder: Embedder | None = None,
    llm: LLM | Provider | None = None,
    clock: Callable[[], datetime] | None = None,
    nonce: Callable[[], str] | None = None,
    claim_index: bool = False,
) -> PostmortemService:
    """The service on the home's record store: the one seam through which tests, evals and the MCP layer choose its
    collaborators. `llm`: an LLM, or a provider of one (default: the configured backend, started on the first
    draft); `clock`: the time records are stamped with; `nonce`: each prompt's data delimiter. The vector index is
    opened only by its owner: with `claim_index`, this process takes it now unless another process has it (the
    server does so in the background; one-shot commands search exactly from the stored vectors instead)."""
    from agent_postmortem.errors import UnusableHome
    from agent_postmortem.llm.registry import time_limit
    from agent_postmortem.service.drafting import random_nonce
    from agent_postmortem.service.facade import PostmortemService
    from agent_postmortem.store.models import utcnow
    from agent_postmortem.store.private import private_dir
    from agent_postmortem.store.records import db
    from agent_postmortem.store.records.incidents import IncidentStore
    from agent_postmortem.store.records.readonly import writable
    from agent_postmortem.store.search.knowledge import KnowledgeBase

    home = settings.store_home
    # a home this process cannot write is read as it is: no lock, migration, cache or vector index written there
    read_only = not settings.database_url and not writable(home)
    if not read_only:
        try:
            private_dir(home)
        except OSError as e:  # the home is a file, or a file is where one of its directories goes
            raise UnusableHome(settings.home, e) from e
    url = db.sqlite_url(home)
    if settings.database_url:  # PostgreSQL: a schema per team in the one database
        url = db.team_url(settings.database_url, settings.team)
        db.ensure_schema(url)
    engine = db.make_engine(url, read_only=read_only)
    db.upgrade(engine, lock_dir=home)
    store = IncidentStore(engine)
    embedder = embedder or make_embedder(settings)
    owner = None if read_only else index_owner(settings, store, embedder.model_id, url)
    knowledge = KnowledgeBase(feed=store.feed, embedder=embedder, owner=owner, cache_dir=home / "search-cache")
    if claim_index:
        knowledge.claim_index()
    provider = _provider(llm, settings)
    return PostmortemService(
        store=store,
        knowledge=knowledge,
        llm=provider,
        judging=build_judging(settings, provider, nonce=nonce or random_nonce),
        dedupe_window=timedelta(hours=settings.dedupe_hours),
        policy=settings.triage_policy,
        clock=clock or utcnow,
        nonce=nonce or random_nonce,
        draft_time_limit=lambda backend: time_limit(settings, backend),
    )


def _provider(llm: LLM | Provider | None, settings: Settings) -> Provider:
    from agent_postmortem.llm.base import LLM
    from agent_postmortem.llm.registry import llm_factory

    if llm is None:
        return llm_factory(settings)
    if isinstance(llm, LLM):
        given = llm
        return lambda: given
    return llm


def build_judging(
    settings: Settings,
    provider: Provider | None = None,
    *,
    nonce: Callable[[], str] | None = None,
) -> Judging:
    """The model's judgements (a capture's category, blameless rewrites; service/judging.py) with the server's
    configured model, as drafting chooses it (llm/registry.py: none under POSTMORTEM_LLM=none or sampling), asked
    within POSTMORTEM_JUDGE_TIMEOUT; never a low-quality one (the bundled 135M model, even when POSTMORTEM_LLM=local
    names it for drafts: it called 0.15 of test rows right where the learned classifier called 0.85). `provider`:
    the LLM instance to use when one is configured (default: the configured backend, started on first use). The
    blame sentence reader is the shipped one, opened on the first check."""
    from agent_postmortem.errors import LLMUnavailable
    from agent_postmortem.llm.registry import choose_llm, llm_factory
    from agent_postmortem.service.drafting import random_nonce
    from agent_postmortem.service.judging import Judging

    build = provider or llm_factory(settings)
    checked: list[bool] = []

    def judge() -> LLM | None:
        if not checked:  # what is configured does not change while the process runs
            try:
                chosen = None if settings.llm_backend in ("none", "sampling") else choose_llm(settings)
            except LLMUnavailable:  # said once (Judging warns), not again at every judgement of the process
                checked.append(False)
                raise
            checked.append(chosen is not None and not chosen.low_quality)
        return build() if checked[0] else None

    return Judging(judge=judge, time_limit=settings.judge_timeout, nonce=nonce or random_nonce, reader=blame_reader)


@cache
def blame_reader() -> Judge | None:
    """The shipped blame reader; None (the rules decide alone, with one warning per process) when it cannot run."""
    from agent_postmortem.analysis.blame_reader import shipped

    try:
        reader = shipped()
        reader.encoder.load()  # the graph opens here, so a broken install is seen now, not mid-check
        return reader
    except Exception as e:  # noqa: BLE001 - a reader that cannot run leaves the rules to decide
        logger.warning("the blame sentence reader cannot be loaded; the blame rules decide alone: %s", e)
        return None


def index_owner(settings: Settings, store: IncidentStore, model_id: str, database_url: str) -> Ownership:
    """Who owns the team's vector index, and where it is: the team's chromadb directory, or the Chroma server at
    POSTMORTEM_CHROMA_URL (a Chroma database per team). One owner at a time: the holder of an flock in the team's
    home (replicas on one machine), or of an advisory lock in PostgreSQL (replicas on several machines)."""
    from agent_postmortem.store.index.advisory_lock import AdvisoryIndexLock
    from agent_postmortem.store.index.chroma import open_remote
    from agent_postmortem.store.index.owner import IndexLock, IndexOwner, Lock
    from agent_postmortem.store.index.remote import RemoteIndexOwner
    from agent_postmortem.store.records import db

    home = settings.store_home
    lock: Lock
    if database_url.startswith("postgres"):
        default = settings.team == "default"
        key = db.INDEX_LOCK if default else zlib.crc32(settings.team.encode()) & 0x3FFFFFFF | 1 << 30
        lock = AdvisoryIndexLock(database_url, key=key)
    else:
        lock = IndexLock(home / "chroma.lock")

    def expected() -> set[int]:
        return store.feed.embedded_pks(model=model_id)

    if settings.chroma_url is None:
        return IndexOwner(
            home / "chroma",
            database_url=database_url,
            model_id=model_id,
            expected=expected,
            pending=store.feed.pending_pks,
            lock=lock,
        )
    chroma_url = settings.chroma_url
    database = settings.chroma_database if settings.team == "default" else f"{settings.chroma_database}-{settings.team}"
    return RemoteIndexOwner(
        lambda: open_remote(chroma_url, database=database),
        model_id=model_id,
        expected=expected,
        pending=store.feed.pending_pks,
        rows=lambda: store.feed.index_rows(model=model_id),
        lock=lock,
    )


def make_embedder(settings: Settings) -> Embedder:
    """all-MiniLM-L6-v2 through ONNX Runtime (the default: the int8 file shipped in the package, no torch, first
    search in well under a second) or, with the torch extra, through sentence-transformers or as an fp32 graph
    exported once into the model cache."""
    if settings.embedder == "torch":
        from agent_postmortem.store.search.embedding import SentenceTransformerEmbedder

        return SentenceTransformerEmbedder()
    from agent_postmortem.store.search.onnx_embedding import OnnxEmbedder

    return OnnxEmbedder.bundled(settings.model_cache, quantized=settings.embedder == "onnx-int8")
