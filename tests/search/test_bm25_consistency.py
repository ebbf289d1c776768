"""The index and its statistics always equal a rebuild from the assets, in the same transaction."""

from __future__ import annotations

from io import StringIO

import pytest
from django.db import connection, transaction

from assets import actions
from assets.actions import pipeline
from assets.models import Asset, Status, Visibility
from search.analyzer import document_tokens
from search.bm25 import bm25_scores
from search.indexing import reindex_all
from tests.search.conftest import assert_index_consistent, make_asset, stored_index

pytestmark = pytest.mark.django_db


@pytest.fixture
def assets(alice, team):
    return [
        make_asset(alice, original_filename="IMG_0001.JPG", title="Harbour at dawn", tags=["sea", "boat"]),
        make_asset(alice, original_filename="IMG_0002.JPG", description="A red boat in the harbour"),
        make_asset(alice, original_filename="DSC_0003.NEF", description="Dog on the beach", team=team,
                   visibility=Visibility.TEAM, camera_make="Nikon", camera_model="D850"),
        make_asset(alice, original_filename="scan.tif", caption="an old map of the harbour harbour"),
    ]


def _sql(statement: str, params=()) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def test_creating_assets_indexes_them(assets):
    assert_index_consistent()
    assert stored_index()["stats"][0] == 4
    assert stored_index()["df"]["harbour"] == 3


def test_edits_and_deletions_by_every_path_keep_the_statistics_exact(assets):
    first, second, third, fourth = assets
    actions.update_asset(None, first, {"description": "Fishing boats", "tags": ["sea"]})
    assert_index_consistent()
    actions.update_asset(None, second, {"caption": "A small red boat, moored"})
    assert_index_consistent()
    actions.trash(None, [third.pk])
    assert_index_consistent()
    actions.restore(None, [third.pk])
    assert_index_consistent()
    actions.trash(None, [third.pk])
    actions.purge(None, [third.pk])
    assert_index_consistent()
    Asset.objects.filter(pk=fourth.pk).delete()
    assert_index_consistent()
    _sql("DELETE FROM assets_asset WHERE id = %s", [second.pk])
    assert_index_consistent()
    first.refresh_from_db()
    assert stored_index()["stats"] == (1, len(document_tokens(first)))
    assert set(stored_index()["df"]) == {"harbour", "at", "dawn", "fishing", "boats", "sea", "img", "0001", "jpg"}


def test_a_rolled_back_transaction_leaves_the_index_as_it_was(assets, alice):
    before = stored_index()
    with pytest.raises(RuntimeError), transaction.atomic():
        make_asset(alice, original_filename="new.jpg", description="harbour lights")
        actions.update_asset(None, assets[0], {"title": "Completely different words"})
        Asset.objects.filter(pk=assets[1].pk).delete()
        assert stored_index() != before
        raise RuntimeError("roll back")
    assert stored_index() == before
    assert_index_consistent()


def _index_writes(queries) -> list[str]:
    """The statements of `queries` that write the search tables."""
    verbs = ("INSERT INTO SEARCH_", "DELETE FROM SEARCH_", "UPDATE SEARCH_")
    return [q["sql"] for q in queries if any(verb in q["sql"].upper().replace('"', "") for verb in verbs)]


def test_edits_that_change_no_indexed_text_do_not_touch_the_index(assets, other_team):
    from django.test.utils import CaptureQueriesContext

    asset = assets[0]
    with CaptureQueriesContext(connection) as queries:
        actions.update_asset(None, asset, {"visibility": Visibility.ORGANISATION})
    assert _index_writes(queries.captured_queries) == []
    with CaptureQueriesContext(connection) as queries:
        actions.update_asset(None, asset, {"title": "HARBOUR at dawn!"})  # other text, the same tokens
    assert _index_writes(queries.captured_queries) == []
    with CaptureQueriesContext(connection) as queries:
        actions.update_asset(None, asset, {"title": "Harbour at dusk"})
    assert _index_writes(queries.captured_queries)
    assert_index_consistent()


def test_metadata_a_worker_writes_is_indexed_in_the_same_transaction(assets):
    """Camera make and model are indexed: finishing ingest writes them and their postings together."""
    Asset.objects.filter(pk=assets[1].pk).update(status=Status.PENDING)
    claim = pipeline.claim_ingest(assets[1].pk)
    assert bm25_scores("fujifilm", visible=None, limit=5) == []
    assert pipeline.finish_ingest(claim, pipeline.IngestResult({"camera_make": "Fujifilm", "camera_model": "X-T5"}))
    assert [pk for pk, _ in bm25_scores("fujifilm", visible=None, limit=5)] == [assets[1].pk]
    assert_index_consistent()


def test_reindex_all_backfills_assets_loaded_in_bulk(assets, alice):
    from tests.factories import fake_blob

    blob = fake_blob()
    Asset.objects.bulk_create([
        Asset(owner=alice, original_filename=f"bulk_{i}.jpg", blob=blob, sha256=f"{i:064d}", mime_type="image/jpeg",
              byte_size=1, description="bulk loaded lighthouse")
        for i in range(3)
    ])
    assert bm25_scores("lighthouse", visible=None, limit=5) == []
    assert reindex_all(batch_size=2) == 7
    assert len(bm25_scores("lighthouse", visible=None, limit=5)) == 3
    assert_index_consistent()


def test_the_reindex_command_rebuilds_identifiers_and_file_name_trigrams_too(assets):
    from django.core.management import call_command
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM search_identifier")
        cursor.execute("DELETE FROM search_namegram")
    out = StringIO()
    call_command("reindex", "--batch-size", "2", stdout=out)
    assert out.getvalue().startswith(f"re-indexed {len(assets)} assets")
    assert_index_consistent()


def test_reindex_all_reproduces_the_incremental_index(assets):
    actions.update_asset(None, assets[2], {"tags": ["retriever", "sand"]})
    before = stored_index()
    assert reindex_all(batch_size=3) == 4
    assert stored_index() == before
    assert_index_consistent()


def test_triggers_follow_direct_updates_of_the_rows(assets):
    """The statistics follow the rows whatever writes them, the UPDATE paths included."""
    _sql("UPDATE search_posting SET term = 'renamed' WHERE term = 'harbour'")
    _sql("UPDATE search_document SET length = length + 5 WHERE asset_id = %s", [assets[0].pk])
    with connection.cursor() as cursor:
        cursor.execute("SELECT term, count(*) FROM search_posting GROUP BY term")
        df = dict(cursor.fetchall())
        cursor.execute("SELECT count(*), sum(length) FROM search_document")
        stats = tuple(cursor.fetchone())
    assert stored_index()["df"] == df and "harbour" not in df and df["renamed"] == 3
    assert stored_index()["stats"] == stats


def test_a_flushed_statistics_row_heals_on_the_next_write(alice):
    # TransactionTestCase flushes (TRUNCATE) every table, the single statistics row included.
    _sql("DELETE FROM search_corpusstats")
    make_asset(alice, original_filename="after_flush.jpg")
    assert stored_index()["stats"] == (1, 6)  # "after", "flush", "jpg", the file name counting twice
    assert_index_consistent()


def test_the_plurals_migration_rewrites_documents_indexed_without_them(assets):
    """search/0008: an index written before labels held their plurals is brought up to date."""
    import importlib
    from types import SimpleNamespace

    Asset.objects.filter(pk=assets[0].pk).update(status=Status.READY)
    claim = pipeline.claim_analysis(10, [assets[0].pk])
    pipeline.finish_analysis(claim, [pipeline.Finding(assets[0].pk, "labels", "labels-v1", text="mountain")])
    assert len(bm25_scores("mountains", visible=None, limit=5)) == 1
    # As an older release wrote it: no plural, another token hash.
    _sql("DELETE FROM search_posting WHERE term = 'mountains'")
    _sql("UPDATE search_document SET token_hash = 'before-plurals' WHERE asset_id = %s", [assets[0].pk])
    assert bm25_scores("mountains", visible=None, limit=5) == []
    migration = importlib.import_module("search.migrations.0008_label_plurals")
    migration.add_plurals(None, SimpleNamespace(connection=connection))
    assert [asset_id for asset_id, _ in bm25_scores("mountains", visible=None, limit=5)] == [assets[0].pk]
    assert_index_consistent()


def test_the_latin_folding_migration_rewrites_documents_indexed_with_diacritics(alice):
    """search/0009: an index written before Latin letters lost their diacritics is brought up to date."""
    import importlib
    from types import SimpleNamespace

    zurich = make_asset(alice, title="Blick auf Zürich", original_filename="Zürich_01.jpg")
    plain = make_asset(alice, title="harbour")
    assert [asset_id for asset_id, _ in bm25_scores("zurich", visible=None, limit=5)] == [zurich.pk]
    # As an older release wrote it: the accented word, another token hash.
    _sql("UPDATE search_posting SET term = 'zürich' WHERE term = 'zurich'")
    _sql("UPDATE search_document SET token_hash = 'before-folding' WHERE asset_id = %s", [zurich.pk])
    assert bm25_scores("Zürich", visible=None, limit=5) == []  # the query folds; the old index does not
    untouched = _ctid(plain.pk)
    migration = importlib.import_module("search.migrations.0009_latin_folding")
    migration.fold_latin(None, SimpleNamespace(connection=connection))
    assert [asset_id for asset_id, _ in bm25_scores("Zürich", visible=None, limit=5)] == [zurich.pk]
    assert _ctid(plain.pk) == untouched  # a document without such letters is not written again
    assert_index_consistent()


def _ctid(asset_id: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT ctid::text FROM search_document WHERE asset_id = %s", [asset_id])
        return cursor.fetchone()[0]
