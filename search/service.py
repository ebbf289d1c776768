"""The search service every door uses (API, portal, search_eval): signals, fusion, rerank, explanations.

A signal that cannot run (worker timeout, model unavailable) is named in `degraded` and the
others carry on; search never fails because inference is down.
"""

from __future__ import annotations

import time
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Prefetch, QuerySet

from assets.models import ActiveModel, Asset, Embedding, Rendition
from search import concurrency, fusion
from search.bm25 import bm25_scores
from search.scopes import scopes_for
from search.vectors import nearest
from workers import client
from workers.client import InferenceUnavailable

MODES = ("hybrid", "keyword", "semantic")
FUSION_METHODS = ("adaptive", "weighted", "rrf")
KEYWORD, TEXT, CLIP, IMAGE = "keyword", "semantic_text", "semantic_image", "image"
SIMILAR_SIGNALS = (("image", IMAGE), ("text", TEXT))  # (vector kind, signal) compared for "similar"


@dataclass
class SearchRequest:
    query: str = ""
    mode: str = "hybrid"
    fusion: str = ""
    weights: dict[str, float] = field(default_factory=dict)
    rerank: bool = False
    instruction: str | None = None
    limit: int = 24
    offset: int = 0
    image: bytes | None = None  # search by example image
    similar_to: Asset | None = None  # "more like this"


@dataclass
class SearchHit:
    asset: Asset
    explanation: dict


@dataclass
class SearchResponse:
    hits: list[SearchHit]
    total_candidates: int
    signals_run: list[str]
    degraded: dict[str, str]
    fusion: dict
    timings_ms: dict[str, float]


class Encoder:
    """Query-time inference. The default goes through the realtime queue (workers.client)."""

    def text(self, query: str, kind: str) -> client.QueryVector:
        return client.encode_query_text(query, kind=kind)

    def image(self, data: bytes) -> client.QueryVector:
        return client.encode_query_image(data)

    def rerank(self, query: str, documents: list[str], instruction: str | None) -> client.RerankScores:
        return client.rerank(query, documents, instruction=instruction)


def _candidates_depth(request: SearchRequest) -> int:
    return max(settings.SEARCH_CANDIDATES, request.offset + request.limit)


class _Signals:
    """Collects ranked lists and the reasons for missing ones."""

    def __init__(self):
        self.lists: dict[str, list[tuple[int, float]]] = {}
        self.degraded: dict[str, str] = {}
        self.timings: dict[str, float] = {}

    def run(self, name: str, compute, since: float | None = None) -> None:
        """`since`: when the signal's work began (its query encoding), if before this call."""
        started = time.perf_counter() if since is None else since
        try:
            self.lists[name] = compute()
        except InferenceUnavailable as exc:
            self.degraded[name] = exc.reason
        finally:
            self.timings[name] = round((time.perf_counter() - started) * 1000, 2)


def _vector_signal(kind: str, vector: client.QueryVector, visible: QuerySet, depth: int, exclude=()):
    return nearest(kind, vector.model_id, vector.vector, visible=visible, limit=depth, exclude_ids=tuple(exclude))


def _stored_vector(asset: Asset, kind: str) -> client.QueryVector:
    model_id = ActiveModel.model_id_for(kind)
    rows = Embedding.objects.filter(asset=asset, kind=kind)
    if model_id:
        rows = rows.filter(model_id=model_id)
    row = rows.order_by("-created_at").first()
    if row is None:
        raise InferenceUnavailable(f"this asset has no {kind} vector yet")
    return client.QueryVector(row.model_id, list(row.vector))


def _reported_unavailable() -> dict[str, str]:
    """{kind: reason} for the models the workers last reported unavailable."""
    return dict(ActiveModel.objects.filter(available=False).values_list("kind", "reason"))


def _collect(request: SearchRequest, visible: QuerySet, encoder: Encoder, scopes: list[int] | None) -> _Signals:
    signals = _Signals()
    depth = _candidates_depth(request)
    asset = request.similar_to

    if asset is not None:
        exclude = [asset.pk]  # "more like this" never returns itself

        def similar_job(name: str, kind: str):
            return lambda: signals.run(
                name, lambda: _vector_signal(kind, _stored_vector(asset, kind), visible, depth, exclude)
            )

        concurrency.run_all([similar_job(name, kind) for kind, name in SIMILAR_SIGNALS])
        return signals
    query = request.query.strip()
    started = time.perf_counter()
    statements = concurrency.Jobs()
    unavailable = _reported_unavailable()
    # Query encodings wait on workers: start them all at once so they share one timeout. The
    # keyword statement starts now; each vector statement once its query vector has arrived, so
    # no database thread waits on inference.
    with ThreadPoolExecutor(max_workers=3) as pool:
        encodings: dict[Future, tuple[str, str]] = {}
        wanted = []
        if request.image is not None:
            wanted.append((IMAGE, "image", lambda: encoder.image(request.image)))
        if query and request.mode in ("hybrid", "semantic"):
            wanted.append((TEXT, "text", lambda: encoder.text(query, "text")))
            wanted.append((CLIP, "image", lambda: encoder.text(query, "image")))
        for name, kind, encode in wanted:
            if kind in unavailable:
                # The workers said so when they last reported: no round trip to hear it again.
                signals.degraded[name] = f"model unavailable: {unavailable[kind]}"
            else:
                encodings[pool.submit(encode)] = (name, kind)
        if query and request.mode in ("hybrid", "keyword"):
            keyword = lambda: bm25_scores(query, visible=visible, limit=depth, scopes=scopes)  # noqa: E731
            statements.submit(lambda: signals.run(KEYWORD, keyword))
        for future in as_completed(encodings):
            name, kind = encodings[future]
            try:
                vector = future.result()
            except InferenceUnavailable as exc:
                signals.degraded[name] = exc.reason
                signals.timings[name] = round((time.perf_counter() - started) * 1000, 2)
                continue
            statements.submit(
                lambda name=name, kind=kind, vector=vector: signals.run(
                    name, lambda: _vector_signal(kind, vector, visible, depth, ()), since=started
                )
            )
        statements.wait()
    return signals


def _rerank(request: SearchRequest, ordered: list[fusion.Candidate], assets: dict[int, Asset], encoder, signals):
    top = ordered[: settings.SEARCH_RERANK_TOP_N]
    documents = [assets[c.asset_id].document_text() for c in top]
    started = time.perf_counter()
    try:
        scores = encoder.rerank(request.query, documents, request.instruction)
    except InferenceUnavailable as exc:
        signals.degraded["rerank"] = exc.reason
        return ordered, {}
    finally:
        signals.timings["rerank"] = round((time.perf_counter() - started) * 1000, 2)
    by_id = {c.asset_id: float(s) for c, s in zip(top, scores.scores, strict=True)}
    reranked = sorted(top, key=lambda c: (-by_id[c.asset_id], -c.fused, c.asset_id))
    return reranked + ordered[len(top) :], by_id


def search(user_visible: QuerySet, request: SearchRequest, encoder: Encoder | None = None, *, user) -> SearchResponse:
    """Run `request` for `user` over `user_visible` (their visible_to(user), narrowed by any filters).

    `user` also decides whose documents the keyword statistics count (search.scopes); None, for
    internal tools only, counts every document."""
    if request.mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}")
    encoder = encoder or Encoder()
    started = time.perf_counter()
    signals = _collect(request, user_visible, encoder, scopes_for(user))
    method = request.fusion or settings.SEARCH_FUSION
    weights = {**settings.SEARCH_WEIGHTS, **request.weights}
    # Signals finish in any order when run side by side; fuse them in a fixed one so float sums
    # (and with them ties) come out the same every time.
    lists = dict(sorted(signals.lists.items()))
    ordered, facts = fusion.fuse(lists, method=method, weights=weights, keyword_signal=KEYWORD)
    window = ordered[: max(request.offset + request.limit, settings.SEARCH_RERANK_TOP_N if request.rerank else 0)]
    # Hydrate through the visible queryset once more: a result can never be an asset the caller may not see.
    # The renditions and the list of vectors are what every door shows of a hit: fetched once for the page.
    assets = (
        user_visible.select_related("owner", "team")
        .prefetch_related(
            Prefetch("renditions", queryset=Rendition.objects.order_by("width")),
            Prefetch("embeddings", queryset=Embedding.objects.defer("vector").order_by("kind", "model_id")),
            "analyses",  # the reranker's document and the explanations read them
        )
        .in_bulk([c.asset_id for c in window])
    )
    window = [c for c in window if c.asset_id in assets]
    rerank_scores: dict[int, float] = {}
    if request.rerank and request.query.strip() and window:
        window, rerank_scores = _rerank(request, window, assets, encoder, signals)
    page = window[request.offset : request.offset + request.limit]
    hits = [
        SearchHit(
            asset=assets[c.asset_id],
            explanation={
                "signals": c.signals,
                "fused": round(c.fused, 6),
                "rerank": round(rerank_scores[c.asset_id], 6) if c.asset_id in rerank_scores else None,
            },
        )
        for c in page
    ]
    signals.timings["total"] = round((time.perf_counter() - started) * 1000, 2)
    return SearchResponse(hits, len(ordered), sorted(signals.lists), signals.degraded, facts, signals.timings)
