"""Helpers for the asset tests: what lies in storage, unique images, hand-made archives."""

from __future__ import annotations

import io
import uuid
import zipfile
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from PIL import Image


def media_files() -> set[str]:
    """Every file under MEDIA_ROOT, as paths relative to it."""
    root = Path(settings.MEDIA_ROOT)
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


def unique_jpeg(size=(64, 48), color=(30, 120, 200)) -> bytes:
    """A small JPEG whose bytes no other test produces (a random comment), so storage starts clean for it."""
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format="JPEG", comment=uuid.uuid4().hex.encode())
    return buffer.getvalue()


def png_bytes(size=(32, 32), color=(10, 200, 10)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format="PNG")
    return buffer.getvalue()


def make_zip(members: dict[str, bytes], compression=zipfile.ZIP_STORED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=compression) as archive:
        for name, data in members.items():
            info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
            info.compress_type = compression
            archive.writestr(info, data)
    return buffer.getvalue()


@pytest.fixture
def dave(db):
    """An active account without staff rights: may log in nowhere in MediaVault."""
    return get_user_model().objects.create_user(username="dave", password="dave-pw", is_staff=False)


@pytest.fixture
def storage_unchanged():
    """Fails the test if it leaves any new file under MEDIA_ROOT."""
    before = media_files()
    yield before
    assert media_files() - before == set(), "files were left behind in storage"
