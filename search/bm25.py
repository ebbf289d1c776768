"""Okapi BM25 scored inside PostgreSQL, visibility and filters in the same statement.

score(d, q) = sum over query terms t in d of  qtf(t) * idf(t) * tf / (tf + k1 * (1 - b + b * dl / avgdl))
idf(t) = ln(1 + (N - df + 0.5) / (df + 0.5))                     (Lucene; never negative)

This is the Lucene form that bm25s calls "lucene": without Robertson's (k1 + 1) factor in the
numerator, a constant that changes no ranking. N, avgdl and df are corpus-wide (the statistics
tables), not per user: a score does not depend on who asks, only which documents are returned.
"""

from __future__ import annotations

from collections import Counter

from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import QuerySet

from assets.models import Asset
from search.analyzer import query_terms

K1 = 1.2
B = 0.75

# Per query term: its weight qtf * idf, and the two constants of the length normalisation, so a
# posting costs tf / (tf + c1 + c2 * dl) in float8 (numeric literals would cast every posting to
# numeric: measured 10x slower). Terms missing from the vocabulary drop out of the join.
# MATERIALIZED: computed once (one row per query term). Inlined, a planner misled by stale
# statistics may rescan it, vocabulary seq scan included, once per posting: seen once in the
# test suite as a query still running after 18 minutes.
_WEIGHTS = """
WITH stats AS (
    SELECT doc_count::float8 AS n, total_length::float8 / doc_count AS avgdl
    FROM search_corpusstats WHERE id = 1 AND doc_count > 0 AND total_length > 0
), weights AS MATERIALIZED (
    SELECT t.term,
           q.qtf * ln(1 + (s.n - t.df + 0.5::float8) / (t.df + 0.5::float8)) AS w,
           %s::float8 * (1 - %s::float8) AS c1,
           %s::float8 * %s::float8 / s.avgdl AS c2
    FROM unnest(%s::text[], %s::int[]) AS q(term, qtf)
    JOIN search_term t ON t.term = q.term
    CROSS JOIN stats s
), scores AS (
    -- Rounded: the pruned and the full plan sum in different orders; the last bits must not
    -- reorder ties between pages.
    SELECT p.asset_id, round(sum(w.w * p.tf / (p.tf + w.c1 + w.c2 * p.dl))::numeric, 9)::float8 AS score
    FROM weights w
    JOIN search_posting p ON p.term = w.term
    {where}
    GROUP BY p.asset_id
)"""

# Postings come from the covering (term, asset_id) INCLUDE (tf, dl) index. The visibility/filter
# queryset is applied to the ranked candidates, not the postings: PostgreSQL then checks them best
# first by primary key and stops once the page is full (a nested-loop semi-join under LIMIT), or,
# when its statistics say the filter is selective, hashes the few visible ids instead. Either
# way the filter is inside this statement and the page fills.
_RANKED = _WEIGHTS.format(where="") + """
SELECT r.asset_id, r.score
FROM (SELECT asset_id, score FROM scores ORDER BY score DESC, asset_id OFFSET 0) r
WHERE true {where}
ORDER BY r.score DESC, r.asset_id
LIMIT %s OFFSET %s
"""

# Pruned pass: only documents holding one of the rarest ("essential") query terms are scored, in
# full; see bm25_scores for why the result is still exact when it is accepted.
_ESSENTIAL = _WEIGHTS.format(
    # ARRAY(...) is computed once, then drives primary-key probes: a plan that cannot turn into a
    # nested loop over whole tables when statistics are stale (seen after a flush: 24 s vs 30 ms).
    where="WHERE p.asset_id = ANY(ARRAY(SELECT DISTINCT e.asset_id FROM search_posting e WHERE e.term = ANY(%s)))"
) + """
SELECT r.asset_id, r.score
FROM (SELECT asset_id, score FROM scores ORDER BY score DESC, asset_id OFFSET 0) r
WHERE true {where}
ORDER BY r.score DESC, r.asset_id
LIMIT %s
"""

# Each query term's weight qtf * idf: the most any one document can gain from that term.
_TERM_WEIGHTS = """
SELECT t.term, q.qtf * ln(1 + (s.doc_count - t.df + 0.5::float8) / (t.df + 0.5::float8))
FROM unnest(%s::text[], %s::int[]) AS q(term, qtf)
JOIN search_term t ON t.term = q.term
CROSS JOIN search_corpusstats s
WHERE s.id = 1 AND s.doc_count > 0
"""

# Scores of given ids: the id list restricts the postings (primary-key probes) before summing.
_FOR_IDS = _WEIGHTS.format(where="WHERE p.asset_id = ANY(%s)") + """
SELECT s.asset_id, s.score FROM scores s WHERE true {where}
"""


def _query_arrays(query: str) -> tuple[list[str], list[int]]:
    counts = Counter(query_terms(query))
    return list(counts), list(counts.values())


def _restriction(visible: QuerySet | None, column: str) -> tuple[str, list]:
    """`AND <column> IN (<visible as SQL>)`; raises EmptyResultSet for `.none()`."""
    if visible is None:
        return "", []
    if visible.model is not Asset:
        raise TypeError("visible must be a queryset of assets")
    sql, params = visible.order_by().values("pk").query.sql_with_params()
    return f"AND {column} IN ({sql})", list(params)


def _constants() -> list[float]:
    return [K1, B, K1, B]


def _run(sql: str, params: list) -> list[tuple[int, float]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [(asset_id, float(score)) for asset_id, score in cursor.fetchall()]


def bm25_scores(
    query: str, *, visible: QuerySet | None, limit: int, offset: int = 0, prune: bool = True
) -> list[tuple[int, float]]:
    """(asset id, score) of the best matches among `visible`, best first, ties by id.

    `visible` is the caller's `Asset.objects.visible_to(user)`, possibly narrowed by filters; None
    means every asset (internal tools and tests only)."""
    terms, qtfs = _query_arrays(query)
    if not terms or limit <= 0:
        return []
    try:
        where, where_params = _restriction(visible, "r.asset_id")
    except EmptyResultSet:
        return []
    # One term: nothing to prune, one statement. Several: the MaxScore pass (exact) usually
    # avoids reading the posting lists of the common terms at all.
    pruned = _maxscore(terms, qtfs, where, where_params, depth=limit + offset) if prune and len(terms) > 1 else None
    if pruned is not None:
        return pruned[offset : offset + limit]
    return _run(_RANKED.format(where=where), [*_constants(), terms, qtfs, *where_params, limit, offset])


def _maxscore(terms, qtfs, where, where_params, depth: int) -> list[tuple[int, float]] | None:
    """Exact top-`depth` without reading the long posting lists of common terms, or None.

    A term adds at most its weight w (tf / (tf + k1 * norm) < 1). Score, in full, only the
    documents that hold one of the rarest terms; any other document lacks all of them, so it
    scores below the summed weights of the remaining (common) terms. When the depth-th best
    pruned score reaches that bound, nothing outside can enter the top: the answer is exact.
    Otherwise widen the essential set by the next rarest term; with every term essential it is
    the plain full query, so None is returned for the caller to run that.
    """
    weights = sorted(_run(_TERM_WEIGHTS, [terms, qtfs]), key=lambda tw: (-tw[1], tw[0]))
    for cut in range(1, len(weights)):
        essential = [term for term, _ in weights[:cut]]
        bound = sum(w for _, w in weights[cut:])
        ranked = _run(
            _ESSENTIAL.format(where=where), [*_constants(), terms, qtfs, essential, *where_params, depth]
        )
        if len(ranked) == depth and ranked[-1][1] >= bound:
            return ranked
    return None


def bm25_for_ids(query: str, ids, *, visible: QuerySet | None = None) -> dict[int, float]:
    """Scores of the given assets (0.0 for those that do not match), for explanations and fusion."""
    ids = list(ids)
    terms, qtfs = _query_arrays(query)
    if not ids:
        return {}
    scores = dict.fromkeys(ids, 0.0)
    if not terms:
        return scores
    try:
        where, where_params = _restriction(visible, "s.asset_id")
    except EmptyResultSet:
        return scores
    scores.update(_run(_FOR_IDS.format(where=where), [*_constants(), terms, qtfs, ids, *where_params]))
    return scores
