"""Writing the BM25 index: documents and postings; the triggers keep the statistics.

Every write re-reads the assets inside the transaction after taking the index lock, so the index
always reflects the latest committed (or this transaction's own) text, whoever saved last, and a
backfill never overwrites a newer save with text it read earlier.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable

from django.db import connection, transaction
from django.db.models import Q

from assets.models import Asset
from search.analyzer import INDEXED_FIELDS, document_tokens

BATCH_SIZE = 1000
_LOCK_SQL = "SELECT pg_advisory_xact_lock(hashtextextended('mediavault.search.index', 0))"


def token_hash(tokens: Iterable[str]) -> str:
    """Hash of the token multiset (order does not matter to BM25)."""
    digest = hashlib.blake2b(digest_size=16)
    for term, count in sorted(Counter(tokens).items()):
        digest.update(f"{term}\x00{count}\x01".encode())
    return digest.hexdigest()


def index_asset(asset: Asset | int) -> None:
    index_assets([asset if isinstance(asset, int) else asset.pk])


def index_new_asset(asset: Asset) -> None:
    """Index an asset created in this transaction: nobody else can have written it yet, so its own
    fields are the truth and there are no old rows: one statement, no re-read."""
    with connection.cursor() as cursor:
        _insert(cursor, [(asset.pk, document_tokens(asset))])


def index_assets(asset_ids: Iterable[int]) -> int:
    """(Re-)index these assets in one transaction: delete their rows, insert fresh ones. Ids of
    assets that no longer exist are skipped (their rows went with them, ON DELETE CASCADE)."""
    ids = sorted(set(asset_ids))
    if not ids:
        return 0
    # No savepoint: the index write must commit or fail with the asset, and a savepoint per asset
    # would make bulk transactions pay for subtransactions (measured: 5x slower at 3,000 assets).
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        # Take the lock the triggers would take anyway before reading: see the module docstring.
        cursor.execute(_LOCK_SQL)
        assets = Asset.objects.filter(pk__in=ids).only("pk", *INDEXED_FIELDS)
        documents = [(asset.pk, document_tokens(asset)) for asset in assets]
        # Postings go with their document (ON DELETE CASCADE).
        cursor.execute("DELETE FROM search_document WHERE asset_id = ANY(%s)", [ids])
        _insert(cursor, documents)
    return len(documents)


# Documents and their postings in one statement (the postings' FK check runs at its end).
_INSERT_SQL = """
WITH documents AS (
    INSERT INTO search_document (asset_id, length, token_hash, stale)
    SELECT id, len, hash, false FROM unnest(%s::bigint[], %s::int[], %s::text[]) AS d(id, len, hash)
)
INSERT INTO search_posting (asset_id, term, tf, dl)
SELECT * FROM unnest(%s::bigint[], %s::text[], %s::int[], %s::int[])
"""


def _insert(cursor, documents: list[tuple[int, list[str]]]) -> None:
    if not documents:
        return
    doc_ids, lengths, hashes = [], [], []
    post_ids, terms, tfs, dls = [], [], [], []
    for asset_id, tokens in documents:
        doc_ids.append(asset_id)
        lengths.append(len(tokens))
        hashes.append(token_hash(tokens))
        for term, tf in Counter(tokens).items():
            post_ids.append(asset_id)
            terms.append(term)
            tfs.append(tf)
            dls.append(len(tokens))
    cursor.execute(_INSERT_SQL, [doc_ids, lengths, hashes, post_ids, terms, tfs, dls])


def _in_batches(queryset, batch_size: int) -> int:
    """Index the assets of `queryset` batch by batch (by id), one transaction per batch so the
    index lock is released between batches and uploads can interleave with a backfill."""
    done, last = 0, 0
    while True:
        ids = list(queryset.filter(pk__gt=last).order_by("pk").values_list("pk", flat=True)[:batch_size])
        if not ids:
            return done
        done += index_assets(ids)
        last = ids[-1]


def reindex_all(batch_size: int = BATCH_SIZE) -> int:
    """Re-analyse every asset (after an analyzer change, or to backfill). Returns the count.

    Ends with ANALYZE: the query plans rely on the statistics of the search tables, and right
    after a bulk load autovacuum may not have caught up (stale statistics turn index probes into
    nested sequential scans)."""
    done = _in_batches(Asset.objects.all(), batch_size)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE search_posting, search_document, search_term")
    return done


def reindex_stale(batch_size: int = BATCH_SIZE) -> int:
    """Index assets never indexed (bulk_create, fixtures) or flagged stale by the trigger that
    watches indexed columns (queryset.update(), raw SQL). Cheap when there is nothing to do."""
    pending = Asset.objects.filter(Q(search_document__isnull=True) | Q(search_document__stale=True))
    return _in_batches(pending, batch_size)
