"""A lost broker message or a killed worker never loses an asset: the sweeper takes back claims whose
lease ran out, sends again what waited in the queue too long, and a real worker then processes it;
assets that used up their attempts end as failed with a reason."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from assets import queue
from assets.actions import blobs
from assets.actions.pipeline import MAX_ATTEMPTS, sweep
from assets.models import Asset, BlobStore, EmbeddingStatus, Status
from mediavault.celery import app
from tests.assets.conftest import unique_jpeg
from tests.conftest import wait_for


def stuck_asset(owner, status: str, attempts: int = 0, *, lease_until=None, queued_at=None, **fields) -> Asset:
    """An asset row with a real stored original, as a crashed worker or a lost message would leave it.
    Made directly (not through upload_asset) so that no ingest message is sent for it."""
    data = unique_jpeg()
    with blobs.new_files() as written, transaction.atomic():
        blob = blobs.store_bytes(BlobStore.ORIGINAL, data, "image/jpeg", written)
    claimed = status == Status.PROCESSING
    return Asset.objects.create(
        owner=owner, blob=blob, original_filename=f"{status}-{attempts}.jpg", sha256=blob.sha256,
        mime_type="image/jpeg", byte_size=len(data), width=64, height=48, status=status,
        processing_attempts=attempts, ingest_claim=uuid.uuid4() if claimed else None,
        ingest_lease_until=lease_until if claimed else None, queued_at=queued_at, **fields,
    )


@pytest.fixture
def empty_queues():
    app.control.purge()
    yield
    app.control.purge()


@pytest.mark.django_db
def test_sweep_picks_exactly_the_stuck_ones(alice, empty_queues):
    now = timezone.now()
    expired, live = now - dt.timedelta(seconds=1), now + dt.timedelta(seconds=settings.LEASE_S)
    long_ago = now - dt.timedelta(seconds=settings.REQUEUE_AFTER_S + 1)
    lately = now - dt.timedelta(seconds=settings.REQUEUE_AFTER_S - 5)
    lost_message = stuck_asset(alice, Status.PENDING, queued_at=long_ago)
    crashed_worker = stuck_asset(alice, Status.PROCESSING, 2, lease_until=expired)
    still_waiting = stuck_asset(alice, Status.PENDING, queued_at=lately)
    still_working = stuck_asset(alice, Status.PROCESSING, 1, lease_until=live)
    exhausted = stuck_asset(alice, Status.PROCESSING, MAX_ATTEMPTS, lease_until=expired)
    done = stuck_asset(alice, Status.READY, 1, queued_at=long_ago, embedding_status=EmbeddingStatus.READY,
                       analysis_status="ready")
    gave_up = stuck_asset(alice, Status.FAILED, 1, queued_at=long_ago)
    embed_crashed = stuck_asset(
        alice, Status.READY, 1, embedding_status=EmbeddingStatus.EMBEDDING, embedding_claim=uuid.uuid4(),
        embedding_lease_until=expired, embedding_attempts=1, analysis_status="ready",
    )

    report = sweep(now=now)

    assert report["ingest_expired"] == [crashed_worker.pk]
    assert report["ingest_resent"] == [lost_message.pk]
    assert report["ingest_gave_up"] == [exhausted.pk]
    assert report["embedding_expired"] == [embed_crashed.pk]
    rows = {a.pk: a for a in Asset.objects.all()}
    # Sent again: stamped, so the next sweep leaves them to the worker; the dead claim is gone.
    assert rows[lost_message.pk].queued_at == now
    assert (rows[crashed_worker.pk].status, rows[crashed_worker.pk].ingest_claim) == (Status.PENDING, None)
    assert rows[embed_crashed.pk].embedding_status == EmbeddingStatus.PENDING
    assert rows[embed_crashed.pk].embedding_claim is None
    assert rows[exhausted.pk].status == Status.FAILED
    assert rows[exhausted.pk].error.startswith(f"gave up after {MAX_ATTEMPTS} attempts")
    for untouched in (still_waiting, still_working, done, gave_up):
        row = rows[untouched.pk]
        assert (row.status, row.ingest_claim, row.queued_at) == (
            untouched.status, untouched.ingest_claim, untouched.queued_at
        )
    assert not any(sweep(now=now).values())


@pytest.mark.django_db
def test_sweep_resends_only_what_the_queue_does_not_hold(alice, monkeypatch):
    """Three assets waited too long but two messages are still queued: the oldest one was lost.

    The queue is a real Redis list on the test broker, one no worker reads (the suite's worker
    would drain the real ingest queue)."""
    now = timezone.now()
    waited = [
        stuck_asset(alice, Status.PENDING, queued_at=now - dt.timedelta(seconds=settings.REQUEUE_AFTER_S + s))
        for s in (30, 20, 10)
    ]
    idle_queue = f"sweeper-test-{uuid.uuid4().hex}"
    monkeypatch.setattr(queue, "INGEST_QUEUE", idle_queue)
    with app.connection_for_write() as conn:
        client = conn.default_channel.client
        client.lpush(idle_queue, "message for waited[1]", "message for waited[2]")
        try:
            assert queue.depth(queue.INGEST_QUEUE) == 2
            assert sweep(now=now)["ingest_resent"] == [waited[0].pk]
        finally:
            client.delete(idle_queue)


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_swept_assets_are_processed_by_a_real_worker(celery_worker, alice):
    long_ago = timezone.now() - dt.timedelta(hours=1)
    lost_message = stuck_asset(alice, Status.PENDING, queued_at=long_ago)
    crashed_worker = stuck_asset(alice, Status.PROCESSING, 2, lease_until=long_ago)
    exhausted = stuck_asset(alice, Status.PROCESSING, MAX_ATTEMPTS, lease_until=long_ago)

    report = sweep()

    ids = report["ingest_expired"] + report["ingest_resent"]
    assert sorted(ids) == sorted([lost_message.pk, crashed_worker.pk])

    def settled():
        rows = list(Asset.objects.filter(pk__in=ids))
        return rows if all(a.status in (Status.READY, Status.FAILED) for a in rows) else None

    for asset in wait_for(settled, timeout=60):
        assert asset.status == Status.READY, asset.error
        assert {r.spec for r in asset.renditions.all()} == {"max256", "max1024"}
    assert Asset.objects.get(pk=lost_message.pk).processing_attempts == 1
    assert Asset.objects.get(pk=crashed_worker.pk).processing_attempts == 3
    gave_up = Asset.objects.get(pk=exhausted.pk)
    assert gave_up.status == Status.FAILED and gave_up.error.startswith(f"gave up after {MAX_ATTEMPTS} attempts")
    assert gave_up.processing_attempts == MAX_ATTEMPTS and not gave_up.renditions.exists()


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_the_periodic_sweep_task_runs_in_the_worker(celery_worker, alice):
    asset = stuck_asset(alice, Status.PENDING, queued_at=timezone.now() - dt.timedelta(hours=1))

    swept = app.send_task("workers.sweep").get(timeout=30)

    assert swept["ingest_resent"] == 1
    ready = wait_for(lambda: Asset.objects.filter(pk=asset.pk, status=Status.READY).first(), timeout=60)
    assert ready.processing_attempts == 1
