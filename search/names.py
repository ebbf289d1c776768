"""File names found by a fragment: a prefix ("IMG_51" finds IMG_5195.jpg) or any substring of
three characters or more, through a trigram index of our own.

PostgreSQL's pg_trgm would do this, but the embedded server ships only plpgsql and pgvector, so
the index is a plain table like the BM25 one: one row per (trigram, asset) of the normalised file
name (search_namegram), the name itself on the keyword document (search_document.name).

A fragment's trigrams all occur in every name that contains it, so the candidates are the
postings of its rarest trigram, checked with LIKE on the name. Which trigram is rarest is read
from the index itself with counts that stop at a bound: no statistics table to keep, and a
fragment whose trigrams are all common ("img", "jpg") is not a name anyone is looking for by
substring: it answers from a bounded scan.
"""

from __future__ import annotations

from django.db import connection
from django.db.models import QuerySet

from search.analyzer import normalize

GRAM = 3
# A trigram with more postings than this is "common": counted no further, never read in full.
COMMON = 20_000
# Normalised names are cut here (the column is too): longer names are found by their beginning.
MAX_NAME_CHARS = 255


def name_key(filename: str) -> str:
    return normalize(filename or "")[:MAX_NAME_CHARS]


def grams_of(name: str) -> set[str]:
    return {name[i : i + GRAM] for i in range(len(name) - GRAM + 1)}


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


_COUNTS = f"""
SELECT g.gram, (SELECT count(*) FROM (SELECT 1 FROM search_namegram n WHERE n.gram = g.gram LIMIT {COMMON}) s)
FROM unnest(%s::text[]) AS g(gram)
"""

# Candidates from one trigram's postings, checked against the whole fragment; prefixes first,
# then shorter names, then by id. The postings are read first, as an array (an InitPlan), and the
# documents probed by primary key: as a join, PostgreSQL took the LIKE for rare (it cannot see how
# many names hold a fragment) and scanned every document instead, 70-130 ms at 1M names against
# 4-8 ms this way for the same rows (bench/RESULTS.md, search_latency 2026-12-04).
_FROM_GRAM = """
SELECT d.asset_id, d.name LIKE %s AS prefix
FROM search_document d
WHERE d.asset_id = ANY(ARRAY(SELECT n.asset_id FROM search_namegram n WHERE n.gram = %s))
  AND d.name LIKE %s {where}
ORDER BY prefix DESC, length(d.name), d.asset_id
LIMIT %s
"""

# Every trigram is common: the names are scanned in id order until the page is full.
_SCAN = """
SELECT d.asset_id, d.name LIKE %s AS prefix
FROM search_document d
WHERE d.name LIKE %s {where}
LIMIT %s
"""


def _visible_sql(visible: QuerySet | None) -> tuple[str, list]:
    if visible is None:
        return "", []
    sql, params = visible.order_by().values("pk").query.sql_with_params()
    return f"AND d.asset_id IN ({sql})", list(params)


def fragment_of(query: str) -> str | None:
    """The normalised fragment a query looks names up by, or None (too short, or several words)."""
    text = normalize(query.strip())
    if len(text) < GRAM or any(char.isspace() for char in text):
        return None
    return text[:MAX_NAME_CHARS]


def name_matches(fragment: str, *, visible: QuerySet | None, limit: int) -> list[tuple[int, float]]:
    """(asset id, score) of visible documents whose file name contains `fragment`: 1.0 for a
    name that starts with it, 0.5 for one that contains it elsewhere; best first."""
    if limit <= 0:
        return []
    if visible is not None and visible.query.is_empty():
        return []
    where, where_params = _visible_sql(visible)
    escaped = _like_escape(fragment)
    prefix, anywhere = f"{escaped}%", f"%{escaped}%"
    with connection.cursor() as cursor:
        cursor.execute(_COUNTS, [sorted(grams_of(fragment))])
        counts = sorted(cursor.fetchall(), key=lambda row: (row[1], row[0]))
        if counts and counts[0][1] < COMMON:
            cursor.execute(_FROM_GRAM.format(where=where), [prefix, counts[0][0], anywhere, *where_params, limit])
            rows = cursor.fetchall()
        else:
            cursor.execute(_SCAN.format(where=where), [prefix, anywhere, *where_params, limit])
            rows = sorted(cursor.fetchall(), key=lambda row: (not row[1], row[0]))
    return [(asset_id, 1.0 if is_prefix else 0.5) for asset_id, is_prefix in rows]
