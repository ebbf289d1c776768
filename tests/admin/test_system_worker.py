"""The admin system page against a real Celery worker: it is listed, and retried assets really get processed."""

import os
import socket

import pytest

from assets import actions
from assets.models import Asset, EmbeddingStatus, Status
from tests.conftest import make_jpeg, upload_bytes, wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]

URL = "/admin/system/"


def _done(asset_id: int) -> Asset | None:
    asset = Asset.objects.get(pk=asset_id)
    settled = asset.status in (Status.READY, Status.FAILED) and asset.embedding_status in (
        EmbeddingStatus.READY,
        EmbeddingStatus.FAILED,
    )
    return asset if settled else None


def _upload(owner, colour) -> int:
    name = "photo-{}-{}-{}.jpg".format(*colour)
    result = actions.upload_asset(owner, upload_bytes(make_jpeg(colour), name), name, actions.AssetOptions())
    assert result.status == "created", result.reason
    return result.asset.pk


def test_failed_assets_retried_from_the_system_page_are_processed_by_the_worker(celery_worker, admin_user, client_for):
    ingest_id, embed_id = _upload(admin_user, (20, 40, 200)), _upload(admin_user, (200, 180, 20))
    for asset_id in (ingest_id, embed_id):
        assert wait_for(lambda a=asset_id: _done(a), timeout=90).embedding_status == EmbeddingStatus.READY
    # As a crashed decoder and an out-of-memory GPU would have left them.
    Asset.objects.filter(pk=ingest_id).update(status=Status.FAILED, error="processing failed: decoder crashed")
    Asset.objects.filter(pk=embed_id).update(embedding_status=EmbeddingStatus.FAILED, embedding_error="out of memory")

    client = client_for(admin_user)
    page = client.get(URL).content.decode()
    worker = f"test-{os.getpid()}@{socket.gethostname()}"
    assert f"<code>{worker}</code>" in page
    assert 'data-testid="system-workers-none"' not in page
    assert "decoder crashed" in page and "out of memory" in page

    client.post(f"{URL}retry/{ingest_id}/")
    asset = wait_for(lambda: _done(ingest_id), timeout=90)
    assert (asset.status, asset.error) == (Status.READY, "")
    assert asset.renditions.exists()

    client.post(f"{URL}retry-all/")
    asset = wait_for(lambda: _done(embed_id), timeout=90)
    assert (asset.embedding_status, asset.embedding_error) == (EmbeddingStatus.READY, "")
    assert {e.kind for e in asset.embeddings.all()} == {"image", "text"}

    assert 'data-testid="system-failures-none"' in client.get(URL).content.decode()
