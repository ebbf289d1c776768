"""Stored files as rows: `verify_storage` finds missing files, orphans and damaged bytes; the scheduled
cleanup removes orphans past their grace period only; thumbnails cost two queries at most."""

from __future__ import annotations

import datetime as dt
import io
import os
import time

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from assets import actions
from assets.actions import blobs
from assets.models import Asset, Blob
from assets.processing import process_asset
from tests.assets.conftest import unique_jpeg

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def own_storage(settings, tmp_path):
    """A MEDIA_ROOT of this test's own: orphans are counted over everything in storage."""
    settings.STORAGES = {**settings.STORAGES, "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(tmp_path / "media"), "base_url": None},
    }}


def _verify(*args) -> tuple[int, str]:
    out = io.StringIO()
    try:
        call_command("verify_storage", *args, stdout=out, stderr=io.StringIO())
    except SystemExit as exit_:
        return int(exit_.code), out.getvalue()
    return 0, out.getvalue()


def _age(name: str, seconds: float) -> None:
    path = default_storage.path(name)
    past = time.time() - seconds
    os.utime(path, (past, past))


def _uploaded(user, name="a.jpg") -> Asset:
    return actions.upload_asset(user, io.BytesIO(unique_jpeg()), name, actions.AssetOptions()).asset


def test_verify_storage_is_clean_then_reports_each_kind_of_problem(alice, settings):
    asset = _uploaded(alice)
    process_asset(asset.pk)
    code, out = _verify()
    assert code == 0, out
    assert "OK" in out

    # A file whose bytes changed, one that went missing, and one nobody's row names.
    rendition = asset.renditions.first().blob
    with open(default_storage.path(rendition.name), "wb") as handle:
        handle.write(b"not the thumbnail any more")
    other = _uploaded(alice, "b.jpg")
    default_storage.delete(other.blob.name)
    orphan = default_storage.save("originals/zz/zz/stray-file.jpg", ContentFile(b"left by a crash"))

    code, out = _verify()
    assert code == 1
    assert f"checksum mismatch: 1\n  {rendition.name}" in out
    assert f"missing from storage: 1\n  {other.blob.name}" in out
    assert "recent orphan files (maybe uploads in flight): 1" in out  # within the grace period: not an error
    code, out = _verify("--no-checksums")
    assert code == 1 and "checksum mismatch" not in out

    _age(orphan, settings.ORPHAN_GRACE_S + 60)
    code, out = _verify("--no-checksums")
    assert f"orphan files (no row, past the grace period): 1\n  {orphan}" in out


def test_orphan_cleanup_spares_recent_files_and_files_with_rows(alice, settings):
    asset = _uploaded(alice)
    old_orphan = default_storage.save("originals/zz/zz/old-orphan.jpg", ContentFile(b"x"))
    new_orphan = default_storage.save("originals/zz/zz/new-orphan.jpg", ContentFile(b"y"))
    for name in (old_orphan, asset.blob.name):
        _age(name, settings.ORPHAN_GRACE_S + 60)
    # A row nothing references any more, created long ago (a crash between two statements).
    idle = Blob.objects.create(store="original", sha256="f" * 64, size=1, name="originals/ff/ff/idle.jpg",
                               mime_type="image/jpeg")
    long_ago = timezone.now() - dt.timedelta(seconds=settings.ORPHAN_GRACE_S + 60)
    Blob.objects.filter(pk=idle.pk).update(created_at=long_ago)

    removed = blobs.remove_orphans()

    assert removed == {"files": 1, "blobs": 1}
    assert not default_storage.exists(old_orphan)
    assert default_storage.exists(new_orphan) and default_storage.exists(asset.blob.name)
    assert not Blob.objects.filter(pk=idle.pk).exists()
    assert Blob.objects.filter(pk=asset.blob_id).exists()


def test_an_upload_heals_a_blob_whose_file_went_missing(alice, charlie):
    data = unique_jpeg()
    mine = actions.upload_asset(alice, io.BytesIO(data), "mine.jpg", actions.AssetOptions()).asset
    default_storage.delete(mine.blob.name)
    theirs = actions.upload_asset(charlie, io.BytesIO(data), "theirs.jpg", actions.AssetOptions()).asset
    assert theirs.blob_id == mine.blob_id
    with Blob.objects.get(pk=mine.blob_id).open() as handle:
        assert handle.read() == data


def test_a_thumbnail_costs_at_most_two_queries(alice, api_for):
    asset = _uploaded(alice)
    process_asset(asset.pk)
    api = api_for(alice)  # force_authenticate: no session or token lookups in the count
    with CaptureQueriesContext(connection) as queries:
        response = api.get(f"/api/v1/assets/{asset.pk}/renditions/max256/")
    assert response.status_code == 200
    assert len(queries) <= 2, [q["sql"] for q in queries.captured_queries]
    b"".join(response.streaming_content)
