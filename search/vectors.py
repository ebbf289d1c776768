"""Nearest neighbours in PostgreSQL: pgvector HNSW with visibility and filters in the same statement.

Each (kind, model_id) has its own partial HNSW index over ``vector::halfvec(dim)``
(assets.vector_index); the ORDER BY below repeats that expression so the planner uses it. A
vector is only ever compared with vectors of the model that made the query vector.

Iterative index scans (pgvector >= 0.8) keep reading the index until enough rows pass the
filter, so a selective filter (one team, one tag) still fills the page.
"""

from __future__ import annotations

from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import QuerySet
from psycopg import sql

from assets.models import Asset
from assets.vector_index import vector_expression
from mediavault.rows import result_sets

# Measured at 1M 1024-d vectors (bench/search_latency.py, graph built with ef_construction 128):
# recall@10 against exact search, all visible / one team in ten: 0.950 / 0.946 at ef_search 200,
# 0.990 / 0.984 at 400. strict_order found no more than relaxed_order (re-sorted below).
EF_SEARCH = 400
# pgvector refuses hnsw.ef_search above 1000; the search API and portal page no deeper than this.
MAX_EF_SEARCH = 1000
ITERATIVE_SCAN = "relaxed_order"
MAX_SCAN_TUPLES = 50_000


def _halfvec_literal(vector) -> str:
    return "[" + ",".join(f"{float(x):.6g}" for x in vector) + "]"


def _visible_sql(visible: QuerySet | None) -> tuple[sql.Composable, list]:
    if visible is None:
        return sql.SQL(""), []
    if visible.model is not Asset:
        raise TypeError("visible must be a queryset of assets")
    text, params = visible.order_by().values("pk").query.sql_with_params()
    return sql.SQL("AND e.asset_id IN (") + sql.SQL(text) + sql.SQL(")"), list(params)


def nearest(
    kind: str,
    model_id: str,
    vector,
    *,
    visible: QuerySet | None,
    limit: int,
    exclude_ids: tuple[int, ...] = (),
    exact: bool = False,
) -> list[tuple[int, float]]:
    """(asset id, cosine similarity) of the nearest vectors among `visible`, most similar first.

    `exact` skips the index (a sequential scan): used to measure the index's recall.
    """
    if limit <= 0:
        return []
    try:
        where, where_params = _visible_sql(visible)
    except EmptyResultSet:
        return []
    dim = len(vector)
    excluded = sql.SQL("AND NOT (e.asset_id = ANY(%s))") if exclude_ids else sql.SQL("")
    statement = sql.SQL(
        "SELECT e.asset_id, {expr} <=> %s::halfvec({dim}) AS distance "
        "FROM assets_embedding e "
        "WHERE e.kind = %s AND e.model_id = %s AND e.dim = %s {where} {excluded} "
        "ORDER BY {expr} <=> %s::halfvec({dim}) LIMIT %s"
    ).format(expr=vector_expression(dim), dim=sql.Literal(dim), where=where, excluded=excluded)
    literal = _halfvec_literal(vector)
    params = [literal, kind, model_id, dim, *where_params]
    if exclude_ids:
        params.append(list(exclude_ids))
    params += [literal, limit]
    if exact:
        scan = ["SET LOCAL enable_indexscan = off", "SET LOCAL enable_bitmapscan = off"]
    else:
        scan = [f"SET LOCAL hnsw.iterative_scan = {ITERATIVE_SCAN}",
                f"SET LOCAL hnsw.ef_search = {min(max(EF_SEARCH, int(limit)), MAX_EF_SEARCH)}",
                f"SET LOCAL hnsw.max_scan_tuples = {MAX_SCAN_TUPLES}"]
    # One round trip instead of six (BEGIN, the SETs, the query, COMMIT); SET LOCAL lasts for the query.
    with connection.cursor() as cursor:
        (rows,) = result_sets(cursor, [*scan, statement.as_string(cursor.connection)], params)
    # relaxed_order may return neighbours slightly out of order; the distances are exact.
    rows.sort(key=lambda row: (row[1], row[0]))
    return [(asset_id, 1.0 - float(distance)) for asset_id, distance in rows]

