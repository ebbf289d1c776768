"""Helpers for the search tests: assets without files, and the index recomputed from scratch."""

from __future__ import annotations

from collections import Counter

from django.db import connection

from assets.documents import field_texts
from assets.models import Asset, Visibility
from search.analyzer import document_tokens
from search.identifiers import keys_of
from search.names import grams_of, name_key
from search.scopes import scope_of
from tests.factories import asset_row


def make_asset(owner, **fields) -> Asset:
    """An indexed Asset row (organisation-visible unless told); no file behind it."""
    fields.setdefault("original_filename", "untitled.jpg")
    fields.setdefault("visibility", Visibility.ORGANISATION)
    return asset_row(owner, **fields)


def stored_index() -> dict:
    """What the search tables hold, in comparable form."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT doc_count, total_length FROM search_corpusstats WHERE id = 1")
        stats = cursor.fetchone() or (0, 0)
        cursor.execute("SELECT term, df FROM search_term")
        df = dict(cursor.fetchall())
        cursor.execute("SELECT asset_id, length FROM search_document")
        documents = dict(cursor.fetchall())
        cursor.execute("SELECT asset_id, term, tf, dl FROM search_posting")
        postings = {(asset_id, term): (tf, dl) for asset_id, term, tf, dl in cursor.fetchall()}
        cursor.execute("SELECT scope, doc_count, total_length FROM search_scopestats")
        scope_stats = {scope: (n, total) for scope, n, total in cursor.fetchall()}
        cursor.execute("SELECT term, scope, df FROM search_termscope")
        scope_df = {(term, scope): n for term, scope, n in cursor.fetchall()}
        cursor.execute("SELECT asset_id, key FROM search_identifier")
        keys = set(cursor.fetchall())
        cursor.execute("SELECT asset_id, name FROM search_document")
        names = dict(cursor.fetchall())
        cursor.execute("SELECT asset_id, gram FROM search_namegram")
        grams = set(cursor.fetchall())
    return {"stats": tuple(stats), "df": df, "documents": documents, "postings": postings,
            "scope_stats": scope_stats, "scope_df": scope_df, "keys": keys, "names": names, "grams": grams}


def recomputed_index() -> dict:
    """The same, computed from the assets alone with the analyzer: what a rebuild would write."""
    documents, postings, df = {}, {}, Counter()
    scope_stats: dict[int, tuple[int, int]] = {}
    scope_df: Counter = Counter()
    keys, names, grams = set(), {}, set()
    for asset in Asset.objects.alive():
        keys |= {(asset.pk, key) for text in field_texts(asset).values() for key in keys_of(text)}
        names[asset.pk] = name_key(asset.original_filename)
        grams |= {(asset.pk, gram) for gram in grams_of(names[asset.pk])}
        tokens = document_tokens(asset)
        scope = scope_of(asset.visibility, asset.team_id, asset.owner_id)
        documents[asset.pk] = len(tokens)
        n, total = scope_stats.get(scope, (0, 0))
        scope_stats[scope] = (n + 1, total + len(tokens))
        for term, tf in Counter(tokens).items():
            postings[(asset.pk, term)] = (tf, len(tokens))
            df[term] += 1
            scope_df[(term, scope)] += 1
    stats = (len(documents), sum(documents.values()))
    return {"stats": stats, "df": dict(df), "documents": documents, "postings": postings,
            "scope_stats": scope_stats, "scope_df": dict(scope_df), "keys": keys, "names": names, "grams": grams}


def assert_index_consistent() -> None:
    stored, expected = stored_index(), recomputed_index()
    for part in ("stats", "documents", "postings", "df", "scope_stats", "scope_df", "keys", "names", "grams"):
        assert stored[part] == expected[part], f"{part} drifted from the assets"


