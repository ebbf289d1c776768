"""The search service every door uses (API, portal, search_eval): the query understood (search.query),
signals, fusion, where strong matches end (search.cutoff), rerank, sort, explanations.

A text query's ranking, in order of precedence:
1. the query as one whole identifier, matched exactly (search.identifiers): first, however the
   analyzer splits it; then file names that start with it, then those that contain it
   (search.names). When the whole identifier matched, its parts are not scored as words.
2. strong matches (search.cutoff), by fused score (or reranked, or by date taken); a query of a
   few words is also matched as the one word they make run together (search.joined_words), a
   literal match;
3. weak matches, only when asked for ("show weaker matches").

A signal that cannot run (worker timeout, model unavailable) is named in `degraded` and the
others carry on; search never fails because inference is down.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connections
from django.db.models import QuerySet

from assets.models import NOT_CONFIGURED, ActiveModel, Asset, Embedding
from assets.representation import represented
from search import concurrency, cutoff, fusion, identifiers, joined_words, names
from search import query as query_language
from search.bm25 import bm25_scores, coverage_for_ids
from search.explain import add_moments, matched_fields
from search.scopes import scopes_for
from search.vectors import nearest
from workers import client
from workers.client import InferenceUnavailable

MODES = ("hybrid", "keyword", "semantic")
FUSION_METHODS = ("adaptive", "weighted", "rrf")
SORTS = ("relevance", "newest", "oldest")
KEYWORD, TEXT, CLIP, IMAGE = "keyword", "semantic_text", "semantic_image", "image"
# The multimodal kind's signals (Qwen3-VL-Embedding, when configured): a text query against the
# pictures' vectors, and a picture (an example image, or the asset of "more like this") against them.
MULTIMODAL, MULTIMODAL_IMAGE = "semantic_multimodal", "image_multimodal"
# Literal signals: every result they return matches the query literally. They order results in
# tiers ahead of the fused ones instead of being fused.
IDENTIFIER, FILENAME, FILTERS, JOINED = "identifier", "filename", "filters", "joined_words"
LITERAL = (IDENTIFIER, FILENAME, FILTERS, JOINED)
# (vector kind, signal) compared for "similar"
SIMILAR_SIGNALS = (("image", IMAGE), ("text", TEXT), ("multimodal", MULTIMODAL_IMAGE))
OPTIONAL_KINDS = ("multimodal",)  # kinds search asks for only when the workers report them served


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
    sort: str = "relevance"
    weak: bool = False  # also return the weak matches, after the strong ones


@dataclass
class SearchHit:
    asset: Asset
    explanation: dict


@dataclass
class SearchResponse:
    hits: list[SearchHit]
    total_candidates: int  # results that can be paged through (the strong ones, unless weak were asked for)
    signals_run: list[str]
    degraded: dict[str, str]
    fusion: dict
    timings_ms: dict[str, float]
    strong: int = 0  # strong matches in all
    weak: int = 0  # weak matches in all (shown only when asked for)
    understood: list[str] = field(default_factory=list)  # the query's filters, in words
    problems: list[str] = field(default_factory=list)  # what of the query was not understood
    cutoff: dict = field(default_factory=dict)  # the similarity cutoffs applied, uncalibrated models
    matched_ids: list[int] = field(default_factory=list)  # every result that can be paged through, in order


class Encoder:
    """Query-time inference. The default goes through the realtime queue (workers.client)."""

    def text(self, query: str, kind: str) -> client.QueryVector:
        return client.encode_query_text(query, kind=kind)

    def image(self, data: bytes, kind: str = "image") -> client.QueryVector:
        return client.encode_query_image(data, kind=kind)

    def rerank(self, query: str, documents: list[str], instruction: str | None,
               pictures: list[int | None] | None = None) -> client.RerankScores:
        return client.rerank(query, documents, instruction=instruction, pictures=pictures)


def _candidates_depth(request: SearchRequest) -> int:
    return max(settings.SEARCH_CANDIDATES, request.offset + request.limit)


class _Signals:
    """Collects ranked lists and the reasons for missing ones."""

    def __init__(self):
        self.lists: dict[str, list[tuple[int, float]]] = {}
        self.degraded: dict[str, str] = {}
        self.timings: dict[str, float] = {}
        self.models: dict[str, str] = {}  # vector signal -> the model id of its query vector

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
    model_id = ActiveModel.serving_model_id(kind)
    rows = Embedding.objects.filter(asset=asset, kind=kind)
    if model_id:
        rows = rows.filter(model_id=model_id)
    row = rows.order_by("-created_at").first()
    if row is None:
        raise InferenceUnavailable(f"this asset has no {kind} vector yet")
    return client.QueryVector(row.model_id, list(row.vector))


def _reported_unavailable() -> dict[str, str]:
    """{kind: reason} for the models the workers last reported unavailable (an optional kind
    nobody served is in it too: without a row, or reported not configured)."""
    rows = list(ActiveModel.objects.values_list("kind", "available", "reason"))
    unavailable = {kind: reason for kind, available, reason in rows if not available}
    served = {kind for kind, available, _ in rows if available}
    for kind in OPTIONAL_KINDS:
        if kind not in served:
            unavailable[kind] = unavailable.get(kind) or NOT_CONFIGURED
    return unavailable


def _off(unavailable: dict[str, str]) -> set[str]:
    """The kinds this install does not use (left unconfigured, or CLIP turned off): not degraded
    signals, just absent ones."""
    return {kind for kind, reason in unavailable.items() if reason.startswith(NOT_CONFIGURED)}


def _literal(text: str, parsed, visible: QuerySet, depth: int, signals: _Signals) -> str | None:
    """The literal signals; returns the query's identifier key when the query is one identifier."""
    if not text and parsed.has_filters:
        # Filters alone: everything they let through, newest first.
        signals.run(FILTERS, lambda: [(pk, 1.0) for pk in visible.order_by("-taken_at", "-pk")
                                      .values_list("pk", flat=True)[:depth]])
        return None
    key = identifiers.query_key(text)
    if key is None:
        joined = joined_words.joined_term(text)
        if joined is not None:
            signals.run(JOINED, lambda: joined_words.holders(joined, visible=visible, limit=depth))
        return None
    signals.run(IDENTIFIER, lambda: identifiers.exact_matches(key, visible=visible, limit=depth))
    fragment = names.fragment_of(text)
    # Found as a whole identifier: a lookup, complete (a file name holding the query at its part
    # boundaries has it as a key). The trigram search is for fragments ("IMG_51") and codes that
    # match no whole identifier; at 1M assets it costs ~100 ms that a lookup need not pay.
    if fragment is not None and not signals.lists.get(IDENTIFIER):
        signals.run(FILENAME, lambda: names.name_matches(fragment, visible=visible, limit=depth))
    return key


def _collect(request: SearchRequest, text: str, parsed, visible: QuerySet, encoder: Encoder,
             scopes: list[int] | None) -> _Signals:
    signals = _Signals()
    depth = _candidates_depth(request)
    asset = request.similar_to

    if asset is not None:
        exclude = [asset.pk]  # "more like this" never returns itself

        def similar_job(name: str, kind: str):
            return lambda: signals.run(
                name, lambda: _vector_signal(kind, _stored_vector(asset, kind), visible, depth, exclude)
            )

        unused = _off(_reported_unavailable())
        concurrency.run_all([similar_job(name, kind) for kind, name in SIMILAR_SIGNALS if kind not in unused])
        return signals
    started = time.perf_counter()
    statements = concurrency.Jobs()
    unavailable = _reported_unavailable()
    key = _literal(text, parsed, visible, depth, signals) if request.image is None else None
    # The whole identifier matched: its parts ("img", "jpg") are no evidence of anything.
    words_count = not (key and signals.lists.get(IDENTIFIER))
    # The keyword statement starts now, on a thread of its own; each vector statement once its
    # query vector has arrived, so no database thread waits on inference.
    wanted = []
    if request.image is not None:
        wanted.append((IMAGE, "image", lambda: encoder.image(request.image)))
        wanted.append((MULTIMODAL_IMAGE, "multimodal", lambda: encoder.image(request.image, "multimodal")))
    if text and request.mode in ("hybrid", "semantic"):
        wanted.append((TEXT, "text", lambda: encoder.text(text, "text")))
        wanted.append((CLIP, "image", lambda: encoder.text(text, "image")))
        wanted.append((MULTIMODAL, "multimodal", lambda: encoder.text(text, "multimodal")))
    encodings = []
    unused = _off(unavailable)
    for name, kind, encode in wanted:
        if kind in unused:
            continue  # a kind this install does not use is not a degraded signal
        if kind in unavailable:
            # The workers said so when they last reported: no round trip to hear it again.
            signals.degraded[name] = f"model unavailable: {unavailable[kind]}"
        else:
            encodings.append((name, kind, encode))
    if text and words_count and request.mode in ("hybrid", "keyword"):
        # Unless weak matches were asked for, only documents that could be strong keyword
        # matches: the weak ones are not shown, and leaving them out keeps a query's common
        # words from costing a read of their whole posting lists.
        # An OR query's alternatives are each judged on their own (_coverage): no share of all
        # its words can rule a document out.
        coverage = None if request.weak or parsed.alternatives else cutoff.MIN_COVERAGE
        keyword = lambda: bm25_scores(  # noqa: E731
            text, visible=visible, limit=depth, scopes=scopes, min_coverage=coverage
        )
        statements.submit(lambda: signals.run(KEYWORD, keyword))

    def vector_arrived(name: str, kind: str, encode) -> None:
        try:
            vector = encode()
        except InferenceUnavailable as exc:
            signals.degraded[name] = exc.reason
            signals.timings[name] = round((time.perf_counter() - started) * 1000, 2)
            return
        signals.models[name] = vector.model_id
        signals.run(name, lambda: _vector_signal(kind, vector, visible, depth, ()), since=started)

    if len(encodings) == 1:
        # One query vector (the usual offline case): this thread waits for it and runs its
        # statement itself. Every hand-off between threads waits for a time slice on a busy machine.
        vector_arrived(*encodings[0])
    elif encodings:
        # Several: requested at once, so they share one timeout; each statement on its own thread.
        with ThreadPoolExecutor(max_workers=len(encodings)) as pool:
            futures = {pool.submit(_closing(encode)): (name, kind) for name, kind, encode in encodings}
            for future in as_completed(futures):
                name, kind = futures[future]
                statements.submit(lambda name=name, kind=kind, result=future.result: vector_arrived(name, kind, result))
    statements.wait()
    return signals


def _closing(encode):
    """`encode` for a thread that ends after it: an encoder that reads the database (search_eval's,
    which answers in this process) leaves no connection behind in a thread that is gone; one
    would stay open until garbage collection, and keep its database from being dropped."""
    def run():
        try:
            return encode()
        finally:
            connections.close_all()

    return run


def _rerank(text: str, request: SearchRequest, ordered: list[fusion.Candidate], assets: dict[int, Asset], encoder,
            signals, strong: set[int], reads_pictures: bool):
    """The top N reordered by the reranker, within their strength and tier: a reranker may
    reorder matches, not make a weak one strong or move one ahead of an exact identifier.
    `reads_pictures`: the reranker looks at each candidate's picture (fewer candidates, with renditions)."""
    top = ordered[: rerank_depth(reads_pictures)]
    documents = [assets[c.asset_id].document_text() for c in top]
    pictures = rerank_pictures([c.asset_id for c in top]) if reads_pictures else None
    started = time.perf_counter()
    try:
        scores = encoder.rerank(text, documents, request.instruction, pictures)
    except InferenceUnavailable as exc:
        signals.degraded["rerank"] = exc.reason
        return ordered, {}
    finally:
        signals.timings["rerank"] = round((time.perf_counter() - started) * 1000, 2)
    by_id = {c.asset_id: float(s) for c, s in zip(top, scores.scores, strict=True)}
    reranked = sorted(
        top, key=lambda c: (c.asset_id not in strong, _tier(c), -by_id[c.asset_id], -c.fused, c.asset_id)
    )
    return reranked + ordered[len(top) :], by_id


VL_RERANK_PREFIX = "qwen3-vl-rerank:"  # workers.ml.qwen_vl_rerank's model ids


def _reranker_reads_pictures() -> bool:
    return (ActiveModel.model_id_for("rerank") or "").startswith(VL_RERANK_PREFIX)


def rerank_depth(reads_pictures: bool) -> int:
    """How many of the top results are reranked: fewer for a reranker that reads each picture."""
    return settings.SEARCH_VL_RERANK_TOP_N if reads_pictures else settings.SEARCH_RERANK_TOP_N


def rerank_pictures(asset_ids: list[int]) -> list[int | None]:
    """Per asset, the blob id of the rendition a picture-reading reranker looks at (the largest
    thumbnail: a photo's, a video's poster, a document's first page; never an original), or None
    (a sound's thumbnail is a drawing of its waveform, not a picture of it)."""
    from assets.models import MediaType, Rendition
    from assets.models.assets import thumbnail_spec

    spec = thumbnail_spec(max(settings.RENDITION_SIZES))
    rows = (Rendition.objects.filter(asset_id__in=asset_ids, spec=spec).exclude(asset__media_type=MediaType.AUDIO)
            .values_list("asset_id", "blob_id"))
    found = dict(rows)
    return [found.get(asset_id) for asset_id in asset_ids]


def _tier(candidate: fusion.Candidate) -> int:
    """0: the whole identifier; 1: a file name starting with it; 2: one containing it; 3: the rest."""
    if IDENTIFIER in candidate.signals:
        return 0
    if FILENAME in candidate.signals:
        return 1 if candidate.signals[FILENAME]["score"] >= 1.0 else 2
    return 3


def _judge(request: SearchRequest, text: str, parsed, signals: _Signals, scopes) -> cutoff.Judgement:
    if request.similar_to is not None or request.image is not None:
        # Search by example has no query to fall short of: every neighbour is shown, nearest first.
        judgement = cutoff.Judgement()
        for ranked in signals.lists.values():
            judgement.strong.update(asset_id for asset_id, _ in ranked)
        return judgement
    if signals.lists.get(IDENTIFIER):
        # The query is one identifier and it was found: a lookup. Its parts are no evidence for
        # BM25 (_collect), and its vector neighbours none either (below), so only the literal
        # matches are strong; the neighbours stay as weak ones.
        judgement = cutoff.Judgement()
        for name in LITERAL:
            judgement.strong.update(asset_id for asset_id, _ in signals.lists.get(name, ()))
        return judgement
    # A query that is a code ("c4e91b07", "DSCN9999") not found whole: a text model puts a code
    # near any code of its shape ("c4e91b07" near "A7-3310C" at 0.48 with MiniLM, over the cutoff
    # calibrated on sentences), so its vector neighbours are weak; the literal matches (a file name
    # holding it) and the keyword ones still judge as usual.
    vector_models = {} if identifiers.is_code(text) else signals.models
    keyword_ids = [asset_id for asset_id, _ in signals.lists.get(KEYWORD, ())]
    return cutoff.judge(
        signals.lists, literal=set(LITERAL), keyword=KEYWORD,
        coverage=_coverage(text, parsed.alternatives, keyword_ids, scopes),
        vector_models=vector_models,
    )


def _coverage(text: str, alternatives: list[str], ids: list[int], scopes) -> dict[int, float]:
    """Each keyword result's share of what the query says; in an OR query, of the alternative it
    holds most of."""
    if not ids:
        return {}
    if not alternatives:
        return coverage_for_ids(text, ids, scopes=scopes)
    best: dict[int, float] = {}
    for alternative in alternatives:
        for asset_id, share in coverage_for_ids(alternative, ids, scopes=scopes).items():
            best[asset_id] = max(best.get(asset_id, 0.0), share)
    return best


def _by_date(candidates: list[fusion.Candidate], visible: QuerySet, newest: bool) -> list[fusion.Candidate]:
    """Sorted by date taken (undated last), ties by relevance."""
    taken = dict(visible.filter(pk__in=[c.asset_id for c in candidates]).values_list("pk", "taken_at"))
    dated = [c for c in candidates if taken.get(c.asset_id)]
    undated = [c for c in candidates if not taken.get(c.asset_id)]
    dated.sort(key=lambda c: taken[c.asset_id], reverse=newest)  # stable: relevance breaks ties
    return dated + undated


def _hydrate(visible: QuerySet, ids: list[int]) -> dict[int, Asset]:
    # Hydrated through the visible queryset once more: a result can never be an asset the caller
    # may not see. The renditions and the list of vectors are what every door shows of a hit.
    return represented(visible).in_bulk(ids)


def search(user_visible: QuerySet, request: SearchRequest, encoder: Encoder | None = None, *, user) -> SearchResponse:
    """Run `request` for `user` over `user_visible` (their visible_to(user), narrowed by any filters).

    `user` also decides whose documents the keyword statistics count (search.scopes); None, for
    internal tools only, counts every document."""
    if request.mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}")
    if request.sort not in SORTS:
        raise ValueError(f"sort must be one of {', '.join(SORTS)}")
    encoder = encoder or Encoder()
    started = time.perf_counter()
    parsed = query_language.parse(request.query) if request.similar_to is None else query_language.ParsedQuery()
    visible = query_language.narrow(user_visible, parsed) if parsed.has_filters else user_visible
    text = parsed.text.strip()
    scopes = scopes_for(user)
    signals = _collect(request, text, parsed, visible, encoder, scopes)
    method = request.fusion or settings.SEARCH_FUSION
    weights = {**settings.SEARCH_WEIGHTS, **request.weights}
    # Signals finish in any order when run side by side; fuse them in a fixed one so float sums
    # (and with them ties) come out the same every time.
    lists = dict(sorted(signals.lists.items()))
    fused = {name: ranked for name, ranked in lists.items() if name not in LITERAL}
    ordered, facts = fusion.fuse(fused, method=method, weights=weights, keyword_signal=KEYWORD)
    ordered = _with_literal(ordered, lists)
    if parsed.phrases:
        # A phrase's words are required by the filter; here they must also stand together.
        texts = _hydrate(visible, [c.asset_id for c in ordered])
        ordered = [c for c in ordered if c.asset_id in texts and query_language.phrase_holds(texts[c.asset_id],
                                                                                             parsed.phrases)]
    judgement = _judge(request, text, parsed, signals, scopes)
    strong = sorted((c for c in ordered if c.asset_id in judgement.strong), key=_tier)  # stable: fused order within
    weak = [c for c in ordered if c.asset_id not in judgement.strong]
    if request.sort != "relevance":
        strong, weak = (_by_date(part, visible, request.sort == "newest") for part in (strong, weak))
    ranked = strong + weak if request.weak else strong
    reads_pictures = request.rerank and _reranker_reads_pictures()
    window = ranked[: max(request.offset + request.limit, rerank_depth(reads_pictures) if request.rerank else 0)]
    assets = _hydrate(visible, [c.asset_id for c in window])
    window = [c for c in window if c.asset_id in assets]
    rerank_scores: dict[int, float] = {}
    if request.rerank and text and window and request.sort == "relevance":
        window, rerank_scores = _rerank(text, request, window, assets, encoder, signals, judgement.strong,
                                        reads_pictures)
    page = window[request.offset : request.offset + request.limit]
    key = identifiers.query_key(text) if IDENTIFIER in lists else None
    joined = joined_words.joined_term(text) if JOINED in lists else None
    hits = [
        SearchHit(
            asset=assets[c.asset_id],
            explanation={
                "signals": c.signals,
                "fused": round(c.fused, 6),
                "rerank": round(rerank_scores[c.asset_id], 6) if c.asset_id in rerank_scores else None,
                "strength": "strong" if c.asset_id in judgement.strong else "weak",
                "matched": matched_fields(assets[c.asset_id], text, key=key, joined=joined),
            },
        )
        for c in page
    ]
    add_moments(hits)
    signals.timings["total"] = round((time.perf_counter() - started) * 1000, 2)
    return SearchResponse(
        hits, len(ranked), sorted(signals.lists), signals.degraded, facts, signals.timings,
        strong=len(strong), weak=len(weak), understood=parsed.understood, problems=parsed.problems,
        cutoff={"similarity": judgement.cutoffs, "uncalibrated": sorted(judgement.uncalibrated)},
        matched_ids=[c.asset_id for c in ranked],
    )


def _with_literal(ordered: list[fusion.Candidate], lists: dict) -> list[fusion.Candidate]:
    """The fused candidates, and those only literal signals found, each with its literal signals."""
    by_id = {c.asset_id: c for c in ordered}
    for name in LITERAL:
        for rank, (asset_id, score) in enumerate(lists.get(name, ()), start=1):
            candidate = by_id.get(asset_id)
            if candidate is None:
                candidate = by_id[asset_id] = fusion.Candidate(asset_id)
                ordered.append(candidate)
            candidate.signals[name] = {"score": round(float(score), 6), "rank": rank}
    return ordered
