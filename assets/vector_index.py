"""Per-model HNSW indexes over the shared, dimension-less embedding column.

pgvector indexes need a fixed dimension, so each (kind, model_id) gets a partial expression
index; queries must use the same expression (``vector::halfvec(dim)``) and predicate to use it.
"""

import hashlib

from django.db import connection
from psycopg import sql

TABLE = "assets_embedding"
# Graph quality. Measured at 1M 1024-d vectors (bench/search_latency.py): recall@10 against exact
# search 0.918 (all) / 0.910 (one team in ten) with pgvector's default ef_construction 64, 0.990 /
# 0.984 with 128; the build took 14 min instead of about 11 on two cores. Indexes built before
# keep their parameters until dropped and rebuilt.
HNSW_M = 16
HNSW_EF_CONSTRUCTION = 128


def index_name(kind: str, model_id: str) -> str:
    digest = hashlib.sha256(f"{kind}:{model_id}".encode()).hexdigest()[:12]
    return f"emb_hnsw_{kind}_{digest}"


def vector_expression(dim: int) -> sql.Composable:
    return sql.SQL("(vector::halfvec({}))").format(sql.Literal(int(dim)))


def ensure_hnsw_index(kind: str, model_id: str, dim: int) -> str:
    name = index_name(kind, model_id)
    statement = sql.SQL(
        "CREATE INDEX IF NOT EXISTS {name} ON {table} USING hnsw ({expr} halfvec_cosine_ops) "
        "WITH (m = {m}, ef_construction = {ef_construction}) WHERE kind = {kind} AND model_id = {model}"
    ).format(
        name=sql.Identifier(name),
        table=sql.Identifier(TABLE),
        expr=vector_expression(dim),
        kind=sql.Literal(kind),
        model=sql.Literal(model_id),
        m=sql.Literal(HNSW_M),
        ef_construction=sql.Literal(HNSW_EF_CONSTRUCTION),
    )
    with connection.cursor() as cursor:
        # Look first: this runs once per batch, and CREATE INDEX (even IF NOT EXISTS) refuses to run
        # in a transaction that has already written embedding rows (pending FK trigger events).
        cursor.execute("SELECT to_regclass(%s)", [name])
        if cursor.fetchone()[0] is None:
            if connection.in_atomic_block:
                # Fire the deferred FK checks now so CREATE INDEX can run inside this transaction.
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                cursor.execute(statement)
                cursor.execute("SET CONSTRAINTS ALL DEFERRED")
            else:
                cursor.execute(statement)
    return name
