"""The races the one-writer design closes, each as a deterministic interleaving on two real database
connections (tests/interleave.py): one session is held inside its transaction at a chosen point,
the other is shown to wait for its lock, then both finish in that order.

- purging an asset while another owner uploads the same bytes (both orders): no file in use is removed;
- an edit while an asset's vectors are being stored: the edit's re-embed is never lost;
- an edit while ingest finishes: both survive, and the keyword index has both;
- bulk tags are found by keyword search at once;
- one stage's claim (or an edit) holding an asset's row does not make another stage's claim miss it.
"""

from __future__ import annotations

import io
import time
import uuid

import pytest
from django.core.files.storage import default_storage
from django.db import connection

from assets import actions, keyword_index
from assets.actions import audit, blobs, bulk, pipeline
from assets.models import AnalysisStatus, Asset, Blob, Embedding, EmbeddingStatus, Status, Visibility
from search.bm25 import bm25_scores
from tests.assets.conftest import unique_jpeg
from tests.interleave import Gate, Session, wait_blocked
from tests.search.conftest import assert_index_consistent

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def files_added():
    """files_added() -> the stored files this test added (blob folders only)."""
    from tests.assets.conftest import media_files

    before = media_files()
    return lambda: {name for name in media_files() - before if name.startswith(("originals/", "renditions/"))}


@pytest.fixture
def sessions():
    opened: list[Session] = []

    def make() -> Session:
        opened.append(Session())
        return opened[-1]

    yield make
    for session in opened:
        session.close()


@pytest.fixture
def no_broker_messages(monkeypatch):
    """Committed actions enqueue work; no worker runs in these tests, so nothing is sent."""
    from assets import queue

    monkeypatch.setattr(queue, "_send", lambda task, **options: None)


def _upload(user, data: bytes, name: str):
    result = actions.upload_asset(user, io.BytesIO(data), name, actions.AssetOptions(visibility=Visibility.PRIVATE))
    assert result.status == "created", result.reason
    return result.asset


def _read(blob: Blob) -> bytes:
    with blob.open() as handle:
        return handle.read()


# --- Purge vs an upload of the same bytes ----------------------------------------------------------


def test_an_upload_holding_the_blob_makes_a_concurrent_purge_keep_the_file(
    alice, charlie, sessions, monkeypatch, no_broker_messages
):
    data = unique_jpeg()
    mine = _upload(alice, data, "mine.jpg")
    actions.trash(alice, [mine.pk])
    name = mine.blob.name
    uploader, purger = sessions(), sessions()
    # Charlie's upload stops after creating its asset, inside its transaction, holding the blob's lock.
    gate = Gate(uploader)
    monkeypatch.setattr(keyword_index, "reindex", gate.wrap(keyword_index.reindex))

    uploading = uploader.start(lambda: actions.upload_asset(charlie, io.BytesIO(data), "theirs.jpg",
                                                            actions.AssetOptions()))
    gate.wait_reached()
    purging = purger.start(lambda: actions.purge(alice, [mine.pk]))
    wait_blocked(purger)  # the purge waits for the blob row the upload holds
    gate.open()
    theirs = uploading.result(timeout=20).asset
    assert purging.result(timeout=20) == [mine.pk]

    assert not Asset.objects.filter(pk=mine.pk).exists()
    theirs = Asset.objects.select_related("blob").get(pk=theirs.pk)
    assert theirs.blob.name == name, "the upload reused the stored content"
    assert default_storage.exists(name) and _read(theirs.blob) == data


def test_a_purge_holding_the_blob_makes_a_concurrent_upload_store_its_own_file(
    alice, charlie, sessions, monkeypatch, no_broker_messages
):
    data = unique_jpeg()
    mine = _upload(alice, data, "mine.jpg")
    actions.trash(alice, [mine.pk])
    old_name = mine.blob.name
    uploader, purger = sessions(), sessions()
    # The purge stops after removing the rows (its file goes once it commits), still holding the lock.
    gate = Gate(purger)
    monkeypatch.setattr(audit, "record", gate.wrap(audit.record))

    purging = purger.start(lambda: actions.purge(alice, [mine.pk]))
    gate.wait_reached()
    uploading = uploader.start(lambda: actions.upload_asset(charlie, io.BytesIO(data), "theirs.jpg",
                                                            actions.AssetOptions()))
    wait_blocked(uploader)  # the upload waits for the blob row the purge is removing
    gate.open()
    assert purging.result(timeout=20) == [mine.pk]
    result = uploading.result(timeout=20)
    assert result.status == "created", result.reason

    theirs = Asset.objects.select_related("blob").get(pk=result.asset.pk)
    assert not default_storage.exists(old_name), "the purged file is gone"
    assert theirs.blob.name != old_name, "the new blob has a name of its own"
    assert default_storage.exists(theirs.blob.name) and _read(theirs.blob) == data
    assert Blob.objects.count() == 1


# --- An edit while vectors are stored --------------------------------------------------------------


def _ready_asset(user) -> Asset:
    asset = _upload(user, unique_jpeg(), "lake.jpg")
    Asset.objects.filter(pk=asset.pk).update(status=Status.READY)
    return Asset.objects.get(pk=asset.pk)


def _text_vector(asset_id: int, text: str) -> pipeline.Vector:
    from workers.embedding import text_hash

    return pipeline.Vector(asset_id, "text", "test-model", [1.0, 0.0, 0.0], text_hash(text))


def test_an_edit_committed_before_the_vectors_are_stored_discards_them(alice, sessions, no_broker_messages):
    asset = _ready_asset(alice)
    worker, editor = sessions(), sessions()
    claim = worker.run(lambda: pipeline.claim_embedding(10, [asset.pk]))
    old_text = claim.assets[0].document_text()

    editor.run(lambda: actions.update_asset(alice, asset.pk, {"title": "Red kayak"}))
    kept = worker.run(lambda: pipeline.finish_embedding(claim, [_text_vector(asset.pk, old_text)], {}))

    assert kept == []
    row = Asset.objects.get(pk=asset.pk)
    assert (row.embedding_status, row.embedding_claim) == (EmbeddingStatus.PENDING, None)
    assert not Embedding.objects.filter(asset=asset).exists(), "no vector of the old text was stored"


def test_an_edit_waiting_for_the_vectors_to_be_stored_queues_a_new_embedding(
    alice, sessions, monkeypatch, no_broker_messages
):
    asset = _ready_asset(alice)
    worker, editor = sessions(), sessions()
    claim = worker.run(lambda: pipeline.claim_embedding(10, [asset.pk]))
    old_text = claim.assets[0].document_text()
    gate = Gate(worker)  # finish_embedding stops after writing, before it commits
    monkeypatch.setattr(audit, "record", gate.wrap(audit.record))

    finishing = worker.start(lambda: pipeline.finish_embedding(claim, [_text_vector(asset.pk, old_text)], {}))
    gate.wait_reached()
    editing = editor.start(lambda: actions.update_asset(alice, asset.pk, {"title": "Red kayak"}))
    wait_blocked(editor)  # the edit waits for the asset row the worker holds
    gate.open()
    assert finishing.result(timeout=20) == [asset.pk]
    editing.result(timeout=20)

    row = Asset.objects.get(pk=asset.pk)
    # The vectors of the old text were stored, then the edit sent the asset back for new ones.
    assert row.title == "Red kayak"
    assert (row.embedding_status, row.embedding_claim) == (EmbeddingStatus.PENDING, None)
    # The next round embeds the new text.
    again = pipeline.claim_embedding(10, [asset.pk])
    assert again is not None
    assert pipeline.finish_embedding(again, [_text_vector(asset.pk, again.assets[0].document_text())], {})
    from workers.embedding import text_hash

    stored = Embedding.objects.get(asset=asset, kind="text")
    assert stored.source_hash == text_hash(Asset.objects.get(pk=asset.pk).document_text())
    assert Asset.objects.get(pk=asset.pk).embedding_status == EmbeddingStatus.READY


# --- An edit while ingest finishes -----------------------------------------------------------------

CAMERA = {"camera_make": "Fujifilm", "camera_model": "X-T5", "width": 64, "height": 48}


def test_an_edit_and_ingest_finishing_both_survive_in_either_order(alice, sessions, monkeypatch, no_broker_messages):
    first = _upload(alice, unique_jpeg(), "first.jpg")
    second = _upload(alice, unique_jpeg(), "second.jpg")
    worker, editor = sessions(), sessions()

    # Order 1: the edit commits while the asset is claimed; ingest then finishes.
    claim = worker.run(lambda: pipeline.claim_ingest(first.pk))
    editor.run(lambda: actions.update_asset(alice, first.pk, {"title": "Harbour lights"}))
    assert worker.run(lambda: pipeline.finish_ingest(claim, pipeline.IngestResult(dict(CAMERA))))

    # Order 2: ingest finishing holds the row; the edit waits for it and commits after.
    claim = worker.run(lambda: pipeline.claim_ingest(second.pk))
    gate = Gate(worker)
    monkeypatch.setattr(audit, "record", gate.wrap(audit.record))
    finishing = worker.start(lambda: pipeline.finish_ingest(claim, pipeline.IngestResult(dict(CAMERA))))
    gate.wait_reached()
    editing = editor.start(lambda: actions.update_asset(alice, second.pk, {"title": "Harbour lights"}))
    wait_blocked(editor)
    gate.open()
    assert finishing.result(timeout=20)
    editing.result(timeout=20)

    for asset in (first, second):
        row = Asset.objects.get(pk=asset.pk)
        assert (row.title, row.camera_make, row.status) == ("Harbour lights", "Fujifilm", Status.READY)
        assert row.embedding_status == EmbeddingStatus.PENDING  # vectors of the new text and metadata follow
    for word in ("harbour", "fujifilm"):
        assert {pk for pk, _ in bm25_scores(word, visible=None, limit=5)} == {first.pk, second.pk}
    assert_index_consistent()


def test_a_reprocess_during_ingest_discards_the_late_result(alice, sessions, no_broker_messages):
    asset = _upload(alice, unique_jpeg(), "a.jpg")
    worker, person = sessions(), sessions()
    claim = worker.run(lambda: pipeline.claim_ingest(asset.pk))
    person.run(lambda: actions.reprocess(alice, [asset.pk]))

    assert worker.run(lambda: pipeline.finish_ingest(claim, pipeline.IngestResult(dict(CAMERA)))) is False
    row = Asset.objects.get(pk=asset.pk)
    assert (row.status, row.ingest_claim, row.camera_make) == (Status.PENDING, None, "")
    assert not row.renditions.exists()


# --- Claims of two stages on one row ---------------------------------------------------------------


def test_an_analysis_claim_meeting_the_embed_claim_on_the_same_row_still_gets_it(
    alice, sessions, monkeypatch, no_broker_messages
):
    # An upload's analyse and embed messages arrive together; the claim that finds the row locked
    # used to skip it and come back empty, leaving the photo unanalysed until the sweeper.
    asset = _ready_asset(alice)
    embedder, analyser = sessions(), sessions()
    gate = Gate(embedder)  # the embed claim stops inside its transaction, the row locked
    monkeypatch.setattr(pipeline, "lease_deadline", gate.wrap(pipeline.lease_deadline))
    embedding = embedder.start(lambda: pipeline.claim_embedding(10, [asset.pk]))
    gate.wait_reached()
    analysing = analyser.start(lambda: pipeline.claim_analysis(10, [asset.pk]))
    time.sleep(0.3)
    assert not analysing.done(), "the analysis claim gave up on a row another stage held"
    gate.open()

    assert embedding.result(timeout=20).ids == [asset.pk]
    assert analysing.result(timeout=20).ids == [asset.pk]
    row = Asset.objects.get(pk=asset.pk)
    assert (row.embedding_status, row.analysis_status) == (EmbeddingStatus.EMBEDDING, AnalysisStatus.ANALYSING)


def test_an_ingest_claim_waits_out_an_edit_holding_the_row(alice, sessions, monkeypatch, no_broker_messages):
    asset = _upload(alice, unique_jpeg(), "harbour.jpg")
    editor, worker = sessions(), sessions()
    gate = Gate(editor)  # the edit has written the row and not committed yet
    monkeypatch.setattr(audit, "record", gate.wrap(audit.record))
    editing = editor.start(lambda: actions.update_asset(alice, asset.pk, {"title": "Harbour lights"}))
    gate.wait_reached()
    claiming = worker.start(lambda: pipeline.claim_ingest(asset.pk))
    time.sleep(0.3)
    gate.open()
    editing.result(timeout=20)

    assert claiming.result(timeout=20).ids == [asset.pk]
    assert Asset.objects.get(pk=asset.pk).title == "Harbour lights"


def test_a_claim_whose_rows_the_same_stage_takes_ends_at_once_empty(
    alice, sessions, monkeypatch, no_broker_messages
):
    asset = _ready_asset(alice)
    first, second = sessions(), sessions()
    gate = Gate(first)
    monkeypatch.setattr(pipeline, "lease_deadline", gate.wrap(pipeline.lease_deadline))
    taking = first.start(lambda: pipeline.claim_analysis(10, [asset.pk]))
    gate.wait_reached()
    missing = second.start(lambda: pipeline.claim_analysis(10, [asset.pk]))
    time.sleep(0.1)
    opened = time.monotonic()
    gate.open()

    assert taking.result(timeout=20).ids == [asset.pk]
    assert missing.result(timeout=20) is None  # never both
    # Once the row is claimed nothing waits for it, so the second claim stops without waiting out its retries.
    assert time.monotonic() - opened < pipeline.CLAIM_RETRY_S / 2


# --- Bulk tags and keyword search ------------------------------------------------------------------


def test_tags_added_in_bulk_are_found_by_keyword_search_at_once(alice, no_broker_messages):
    assets = [_upload(alice, unique_jpeg(), f"IMG_{i}.jpg") for i in range(3)]
    token = f"campaign{uuid.uuid4().hex[:6]}"
    outcome = bulk.add_tags(alice, [a.pk for a in assets], [token])
    assert outcome.changed == 3
    found = {pk for pk, _ in bm25_scores(token, visible=Asset.objects.visible_to(alice), limit=10)}
    assert found == {a.pk for a in assets}
    assert_index_consistent()


def test_a_failed_commit_leaves_no_file_behind(alice, monkeypatch, no_broker_messages):
    """A file is written inside the upload's transaction: if that transaction fails, the file goes too."""
    before = set(blobs.orphans())

    def broken(*args, **kwargs):
        raise RuntimeError("index unavailable")

    monkeypatch.setattr(keyword_index, "reindex", broken)
    with pytest.raises(RuntimeError):
        actions.upload_asset(alice, io.BytesIO(unique_jpeg()), "x.jpg", actions.AssetOptions())
    assert not Asset.objects.exists() and not Blob.objects.exists()
    assert set(blobs.orphans()) == before
    assert connection.in_atomic_block is False


# --- Purge while a worker finishes ingest ------------------------------------------------------------


def test_a_purge_waits_for_ingest_finishing_and_removes_its_thumbnails_too(
    alice, sessions, monkeypatch, no_broker_messages, files_added
):
    from assets.processing import extract

    asset = _upload(alice, unique_jpeg(), "busy.jpg")
    actions.trash(alice, [asset.pk])
    worker, person = sessions(), sessions()
    claim = worker.run(lambda: pipeline.claim_ingest(asset.pk))
    result = worker.run(lambda: extract(claim.assets[0]))
    gate = Gate(worker)  # finish_ingest stops after storing the thumbnails, before it commits
    monkeypatch.setattr(audit, "record", gate.wrap(audit.record))

    finishing = worker.start(lambda: pipeline.finish_ingest(claim, result))
    gate.wait_reached()
    purging = person.start(lambda: actions.purge(alice, [asset.pk]))
    wait_blocked(person)
    gate.open()
    assert finishing.result(timeout=20) is True
    assert purging.result(timeout=20) == [asset.pk]

    assert not Asset.objects.exists() and not Blob.objects.exists()
    assert files_added() == set()


def test_ingest_finishing_after_a_purge_writes_nothing(alice, sessions, monkeypatch, no_broker_messages, files_added):
    from assets.processing import extract

    asset = _upload(alice, unique_jpeg(), "gone.jpg")
    actions.trash(alice, [asset.pk])
    worker, person = sessions(), sessions()
    claim = worker.run(lambda: pipeline.claim_ingest(asset.pk))
    result = worker.run(lambda: extract(claim.assets[0]))
    gate = Gate(person)  # the purge stops after removing the rows, before it commits
    monkeypatch.setattr(audit, "record", gate.wrap(audit.record))

    purging = person.start(lambda: actions.purge(alice, [asset.pk]))
    gate.wait_reached()
    finishing = worker.start(lambda: pipeline.finish_ingest(claim, result))
    wait_blocked(worker)  # the worker waits for the asset row the purge is deleting
    gate.open()
    assert purging.result(timeout=20) == [asset.pk]
    assert finishing.result(timeout=20) is False  # discarded: the asset is gone

    assert not Asset.objects.exists() and not Blob.objects.exists()
    assert files_added() == set()
