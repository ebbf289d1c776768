"""An uploaded photo becomes ready through a real Celery worker process."""

import pytest

from assets.models import Asset, Status
from tests.conftest import sample, upload_file, wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]


def test_api_upload_becomes_ready_with_exif_gps_and_thumbnails(celery_worker, alice, api_for):
    response = api_for(alice).post(
        "/api/v1/assets/", {"file": upload_file(sample("jpg/gps/DSCN0010.jpg"))}, format="multipart"
    )
    assert response.status_code == 201, response.content
    asset_id = response.json()["id"]

    def ready():
        asset = Asset.objects.get(pk=asset_id)
        return asset if asset.status in (Status.READY, Status.FAILED) else None

    asset = wait_for(ready, timeout=60)
    assert asset.status == Status.READY, asset.error
    assert asset.camera_make == "NIKON"
    assert asset.gps_latitude == pytest.approx(43.4674483, abs=1e-6)
    assert asset.gps_longitude == pytest.approx(11.8851267, abs=1e-6)
    assert asset.taken_at.year == 2008
    specs = {r.spec: (r.width, r.height) for r in asset.renditions.all()}
    assert specs == {"max256": (256, 192), "max1024": (640, 480)}

    detail = api_for(alice).get(f"/api/v1/assets/{asset_id}/").json()
    assert detail["status"] == "ready"
    assert set(detail["renditions"]) == {"max256", "max1024"}
    thumb = api_for(alice).get(detail["renditions"]["max256"]["url"])
    assert thumb.status_code == 200
    assert thumb["Content-Type"] == "image/jpeg"
    assert thumb["X-Content-Type-Options"] == "nosniff"
