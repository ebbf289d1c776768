"""Writing the BM25 index: documents and postings; the triggers keep the statistics.

Each document's identifier keys (search.identifiers) and file-name trigrams (search.names) are
written with its postings and go with them.

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
from dataclasses import dataclass

from django.db import connection, transaction

from assets.documents import field_texts
from assets.models import Asset
from search.analyzer import INDEXED_FIELDS, weighted_tokens
from search.identifiers import field_keys
from search.names import grams_of, name_key
from search.scopes import scope_of

BATCH_SIZE = 1000
_LOCK_SQL = "SELECT search_index_lock()"  # defined once, in migration search/0005


def token_hash(tokens: Iterable[str], extra: Iterable[str] = ()) -> str:
    """Hash of the token multiset (order does not matter to BM25) and of `extra` (a document's
    identifier keys and name, which a change of punctuation can change without its tokens)."""
    digest = hashlib.blake2b(digest_size=16)
    for term, count in sorted(Counter(tokens).items()):
        digest.update(f"{term}\x00{count}\x01".encode())
    for item in sorted(extra):
        digest.update(f"\x02{item}".encode())
    return digest.hexdigest()


@dataclass
class _Entry:
    """What the index holds for one asset."""

    tokens: list[str]
    keys: set[str]
    name: str
    scope: int

    @classmethod
    def of(cls, asset: Asset) -> _Entry:
        texts = field_texts(asset)
        keys = set().union(*field_keys(texts).values())
        scope = scope_of(asset.visibility, asset.team_id, asset.owner_id)
        return cls(weighted_tokens(texts), keys, name_key(asset.original_filename), scope)

    @property
    def digest(self) -> str:
        return token_hash(self.tokens, [*(f"k:{key}" for key in self.keys), f"n:{self.name}"])


def index_assets(asset_ids: Iterable[int]) -> int:
    """Make the index rows of these assets match the assets, in the caller's transaction.

    Documents whose tokens, keys, name and scope are unchanged are left alone (an edit of the
    title that keeps its words costs one read); assets that are gone or in the trash lose their
    rows. Returns how many documents were written.
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
        wanted = {asset.pk: _Entry.of(asset) for asset in assets}
        cursor.execute("SELECT asset_id, token_hash, scope FROM search_document WHERE asset_id = ANY(%s)", [ids])
        stored = {pk: (digest, scope) for pk, digest, scope in cursor.fetchall()}
        documents = {pk: entry for pk, entry in wanted.items() if stored.get(pk) != (entry.digest, entry.scope)}
        outdated = [pk for pk in stored if pk not in wanted or pk in documents]
        if outdated:
            # Postings, keys and trigrams go with their document (ON DELETE CASCADE).
            cursor.execute("DELETE FROM search_document WHERE asset_id = ANY(%s)", [outdated])
        _insert(cursor, documents)
    return len(documents)


# Documents and their postings in one statement (the postings' FK check runs at its end).
_INSERT_SQL = """
WITH documents AS (
    INSERT INTO search_document (asset_id, length, token_hash, scope, name)
    SELECT * FROM unnest(%s::bigint[], %s::int[], %s::text[], %s::bigint[], %s::text[])
)
INSERT INTO search_posting (asset_id, term, tf, dl, scope)
SELECT * FROM unnest(%s::bigint[], %s::text[], %s::int[], %s::int[], %s::bigint[])
"""
_INSERT_KEYS_SQL = "INSERT INTO search_identifier (asset_id, key) SELECT * FROM unnest(%s::bigint[], %s::text[])"
_INSERT_GRAMS_SQL = "INSERT INTO search_namegram (asset_id, gram) SELECT * FROM unnest(%s::bigint[], %s::text[])"


def _insert(cursor, documents: dict[int, _Entry]) -> None:
    if not documents:
        return
    doc_ids, lengths, hashes, scopes, names = [], [], [], [], []
    post_ids, terms, tfs, dls, post_scopes = [], [], [], [], []
    key_ids, keys, gram_ids, grams = [], [], [], []
    for asset_id, entry in documents.items():
        doc_ids.append(asset_id)
        lengths.append(len(entry.tokens))
        hashes.append(entry.digest)
        scopes.append(entry.scope)
        names.append(entry.name)
        for term, tf in Counter(entry.tokens).items():
            post_ids.append(asset_id)
            terms.append(term)
            tfs.append(tf)
            dls.append(len(entry.tokens))
            post_scopes.append(entry.scope)
        key_ids += [asset_id] * len(entry.keys)
        keys += sorted(entry.keys)
        entry_grams = sorted(grams_of(entry.name))
        gram_ids += [asset_id] * len(entry_grams)
        grams += entry_grams
    cursor.execute(_INSERT_SQL, [doc_ids, lengths, hashes, scopes, names, post_ids, terms, tfs, dls, post_scopes])
    if keys:
        cursor.execute(_INSERT_KEYS_SQL, [key_ids, keys])
    if grams:
        cursor.execute(_INSERT_GRAMS_SQL, [gram_ids, grams])


def reindex_all(batch_size: int = BATCH_SIZE, *, rewrite: bool = True) -> int:
    """Re-analyse every asset (after an analyzer change, or to backfill). Returns the count of
    documents written. Without `rewrite`, a document whose token hash and scope still match is
    left alone (a migration that changed what some documents hold).

    One transaction per batch (by id), so the index lock is released between batches and
    uploads can interleave with a backfill. Ends with ANALYZE: the query plans rely on the
    statistics of the search tables, and right after a bulk load autovacuum may not have caught
    up (stale statistics turn index probes into nested sequential scans)."""
    done, last = 0, 0
    while True:
        ids = list(Asset.objects.filter(pk__gt=last).order_by("pk").values_list("pk", flat=True)[:batch_size])
        if not ids:
            break
        if rewrite:
            with connection.cursor() as cursor:
                # A rebuild rewrites every document, matching hash or not (the analyzer may have changed).
                cursor.execute("DELETE FROM search_document WHERE asset_id = ANY(%s)", [ids])
        done += index_assets(ids)
        last = ids[-1]
    with connection.cursor() as cursor:
        cursor.execute(
            "ANALYZE search_posting, search_document, search_term, search_termscope, search_identifier, search_namegram"
        )
    return done
