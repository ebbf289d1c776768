"""A lost broker message never loses an asset: the sweeper re-enqueues what is stuck and a real worker then
processes it; assets that used up their attempts end as failed with a reason."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone

from assets.models import Asset, Status
from assets.processing import MAX_ATTEMPTS, sweep_stuck
from mediavault.celery import app
from tests.assets.conftest import unique_jpeg
from tests.conftest import wait_for


def stuck_asset(owner, status: str, attempts: int, changed_at: dt.datetime) -> Asset:
    """An asset row with a real stored original, as a crashed worker or a lost message would leave it.
    Made directly (not through upload_asset) so that no ingest message is sent for it."""
    data = unique_jpeg()
    sha256 = hashlib.sha256(data).hexdigest()
    name = default_storage.save(f"originals/{sha256[:2]}/{sha256[2:4]}/{sha256}.jpg", ContentFile(data))
    asset = Asset.objects.create(
        owner=owner, file=name, original_filename=f"{status}-{attempts}.jpg", sha256=sha256,
        mime_type="image/jpeg", byte_size=len(data), width=64, height=48, status=status,
        processing_attempts=attempts,
    )
    Asset.objects.filter(pk=asset.pk).update(status_changed_at=changed_at)
    return asset


@pytest.mark.django_db
def test_sweep_picks_exactly_the_stuck_ones(alice):
    now = timezone.now()
    old = now - dt.timedelta(seconds=settings.PROCESSING_STUCK_AFTER_S + 1)
    fresh = now - dt.timedelta(seconds=settings.PROCESSING_STUCK_AFTER_S - 5)
    lost_message = stuck_asset(alice, Status.PENDING, 0, old)
    crashed_worker = stuck_asset(alice, Status.PROCESSING, 2, old)
    still_waiting = stuck_asset(alice, Status.PENDING, 0, fresh)
    still_working = stuck_asset(alice, Status.PROCESSING, 1, fresh)
    exhausted = stuck_asset(alice, Status.PROCESSING, MAX_ATTEMPTS, old)
    done = stuck_asset(alice, Status.READY, 1, old)
    gave_up = stuck_asset(alice, Status.FAILED, 1, old)

    ids = sweep_stuck(now=now)

    assert sorted(ids) == sorted([lost_message.pk, crashed_worker.pk])
    rows = {a.pk: a for a in Asset.objects.all()}
    # Re-enqueued rows are touched so the next sweep leaves them to the worker.
    assert rows[lost_message.pk].status_changed_at == now
    assert rows[crashed_worker.pk].status == Status.PROCESSING
    assert rows[exhausted.pk].status == Status.FAILED
    assert rows[exhausted.pk].error == f"gave up after {MAX_ATTEMPTS} attempts"
    for untouched in (still_waiting, still_working, done, gave_up):
        assert rows[untouched.pk].status == untouched.status
        assert rows[untouched.pk].status_changed_at < now
    assert sweep_stuck(now=now) == []


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_swept_assets_are_processed_by_a_real_worker(celery_worker, alice):
    long_ago = timezone.now() - dt.timedelta(hours=1)
    lost_message = stuck_asset(alice, Status.PENDING, 0, long_ago)
    crashed_worker = stuck_asset(alice, Status.PROCESSING, 2, long_ago)
    exhausted = stuck_asset(alice, Status.PENDING, MAX_ATTEMPTS, long_ago)
    later = timezone.now() + dt.timedelta(seconds=settings.PROCESSING_STUCK_AFTER_S + 1)

    ids = sweep_stuck(now=later)

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
    assert gave_up.status == Status.FAILED and gave_up.error == f"gave up after {MAX_ATTEMPTS} attempts"
    assert gave_up.processing_attempts == MAX_ATTEMPTS and not gave_up.renditions.exists()


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_the_periodic_sweep_task_runs_in_the_worker(celery_worker, alice):
    asset = stuck_asset(alice, Status.PENDING, 0, timezone.now() - dt.timedelta(hours=1))

    swept = app.send_task("workers.sweep").get(timeout=30)

    assert swept == 1
    ready = wait_for(lambda: Asset.objects.filter(pk=asset.pk, status=Status.READY).first(), timeout=60)
    assert ready.processing_attempts == 1
