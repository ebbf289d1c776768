"""Writing the BM25 index: documents and postings; the triggers keep the statistics.

Only `assets.actions` calls this (through `assets.keyword_index`), inside the transaction that
changes the assets, so the index commits and rolls back with them. Every write re-reads the
assets after taking the index lock, so the index always reflects the latest committed (or this
transaction's own) text, whoever wrote last, and a backfill never overwrites a newer write with
text it read earlier. Assets in the trash have no index rows.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable

from django.db import connection, transaction

from assets.models import Asset
from search.analyzer import INDEXED_FIELDS, document_tokens
from search.scopes import scope_of

BATCH_SIZE = 1000
_LOCK_SQL = "SELECT search_index_lock()"  # defined once, in migration search/0005


def token_hash(tokens: Iterable[str]) -> str:
    """Hash of the token multiset (order does not matter to BM25)."""
    digest = hashlib.blake2b(digest_size=16)
    for term, count in sorted(Counter(tokens).items()):
        digest.update(f"{term}\x00{count}\x01".encode())
    return digest.hexdigest()


def index_assets(asset_ids: Iterable[int]) -> int:
    """Make the index rows of these assets match the assets, in the caller's transaction.

    Documents whose tokens and scope are unchanged are left alone (an edit of the title that keeps
    its words costs one read); assets that are gone or in the trash lose their rows. Returns how
    many documents were written.
    """
    ids = sorted(set(asset_ids))
    if not ids:
        return 0
    # No savepoint: the index write must commit or fail with the asset, and a savepoint per asset
    # would make bulk transactions pay for subtransactions (measured: 5x slower at 3,000 assets).
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        # Take the lock the triggers would take anyway before reading: see the module docstring.
        cursor.execute(_LOCK_SQL)
        assets = (
            Asset.objects.alive().filter(pk__in=ids).only("pk", "visibility", "team_id", "owner_id", *INDEXED_FIELDS)
            .prefetch_related("analyses")
        )
        wanted = {
            asset.pk: (document_tokens(asset), scope_of(asset.visibility, asset.team_id, asset.owner_id))
            for asset in assets
        }
        cursor.execute("SELECT asset_id, token_hash, scope FROM search_document WHERE asset_id = ANY(%s)", [ids])
        stored = {pk: (digest, scope) for pk, digest, scope in cursor.fetchall()}
        documents = [
            (pk, tokens, scope)
            for pk, (tokens, scope) in wanted.items()
            if stored.get(pk) != (token_hash(tokens), scope)
        ]
        rewritten = {pk for pk, _, _ in documents}
        outdated = [pk for pk in stored if pk not in wanted or pk in rewritten]
        if outdated:
            # Postings go with their document (ON DELETE CASCADE).
            cursor.execute("DELETE FROM search_document WHERE asset_id = ANY(%s)", [outdated])
        _insert(cursor, documents)
    return len(documents)


# Documents and their postings in one statement (the postings' FK check runs at its end).
_INSERT_SQL = """
WITH documents AS (
    INSERT INTO search_document (asset_id, length, token_hash, scope)
    SELECT * FROM unnest(%s::bigint[], %s::int[], %s::text[], %s::bigint[])
)
INSERT INTO search_posting (asset_id, term, tf, dl, scope)
SELECT * FROM unnest(%s::bigint[], %s::text[], %s::int[], %s::int[], %s::bigint[])
"""


def _insert(cursor, documents: list[tuple[int, list[str], int]]) -> None:
    if not documents:
        return
    doc_ids, lengths, hashes, scopes = [], [], [], []
    post_ids, terms, tfs, dls, post_scopes = [], [], [], [], []
    for asset_id, tokens, scope in documents:
        doc_ids.append(asset_id)
        lengths.append(len(tokens))
        hashes.append(token_hash(tokens))
        scopes.append(scope)
        for term, tf in Counter(tokens).items():
            post_ids.append(asset_id)
            terms.append(term)
            tfs.append(tf)
            dls.append(len(tokens))
            post_scopes.append(scope)
    cursor.execute(_INSERT_SQL, [doc_ids, lengths, hashes, scopes, post_ids, terms, tfs, dls, post_scopes])


def reindex_all(batch_size: int = BATCH_SIZE) -> int:
    """Re-analyse every asset (after an analyzer change, or to backfill). Returns the count.

    One transaction per batch (by id), so the index lock is released between batches and
    uploads can interleave with a backfill. Ends with ANALYZE: the query plans rely on the
    statistics of the search tables, and right after a bulk load autovacuum may not have caught
    up (stale statistics turn index probes into nested sequential scans)."""
    done, last = 0, 0
    while True:
        ids = list(Asset.objects.filter(pk__gt=last).order_by("pk").values_list("pk", flat=True)[:batch_size])
        if not ids:
            break
        with connection.cursor() as cursor:
            # A rebuild rewrites every document, matching hash or not (the analyzer may have changed).
            cursor.execute("DELETE FROM search_document WHERE asset_id = ANY(%s)", [ids])
        done += index_assets(ids)
        last = ids[-1]
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE search_posting, search_document, search_term, search_termscope")
    return done
