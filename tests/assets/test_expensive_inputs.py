"""Cheap guards for expensive but legal inputs: images that would not fit the decode memory budget are
refused before they are decoded, and archive members that are no image are refused from their first
bytes, without being inflated."""

from __future__ import annotations

import io
import zipfile

import pytest
from PIL import Image

from assets import actions, archives, filetypes, imaging
from assets.models import Asset
from tests.assets.conftest import make_zip, media_files, unique_jpeg

pytestmark = pytest.mark.django_db


def _png(size, mode="RGB") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size).save(buffer, format="PNG")
    return buffer.getvalue()


def test_an_image_over_the_decode_budget_is_refused_before_decoding(alice, settings):
    settings.MAX_DECODE_BYTES = 8 * 1024 * 1024
    before = media_files()
    data = _png((2000, 1500))  # a few KB on disk, 12 MB decoded (RGB takes four bytes a pixel)
    assert len(data) < 100_000
    result = actions.upload_asset(alice, io.BytesIO(data), "flat.png", actions.AssetOptions())
    assert result.status == "rejected"
    assert "would take 11 MiB of memory to decode (2000x1500 RGB), over the limit of 8 MiB" in result.reason
    assert not Asset.objects.exists() and media_files() == before
    # Greyscale takes a byte a pixel: the same size fits.
    grey = actions.upload_asset(alice, io.BytesIO(_png((2000, 1500), "L")), "grey.png", actions.AssetOptions())
    assert grey.status == "created", grey.reason


def test_jpegs_are_held_to_no_decode_budget_they_always_decode_reduced(alice, settings):
    settings.MAX_DECODE_BYTES = 1024 * 1024
    result = actions.upload_asset(alice, io.BytesIO(unique_jpeg((1600, 1200))), "big.jpg", actions.AssetOptions())
    assert result.status == "created", result.reason


def test_a_large_image_is_shrunk_before_it_is_turned_or_converted():
    image = Image.new("RGBA", (4000, 3000), (255, 0, 0, 0))
    upright = imaging.upright(image, 256)
    assert upright.mode == "RGB"
    assert min(upright.size) >= 256 and upright.size[0] < 4000 // 5  # reduced by a whole factor (11 here)
    assert upright.getpixel((0, 0)) == (255, 255, 255)  # transparent pixels on white


def test_archive_members_that_are_no_image_are_never_inflated(alice, monkeypatch):
    inflated = []
    real_extract = archives._extract

    def counting(archive, info):
        inflated.append(info.filename)
        return real_extract(archive, info)

    monkeypatch.setattr(archives, "_extract", counting)
    members = {f"zeros_{i}.jpg": b"\x00" * (1024 * 1024) for i in range(300)}
    members["real.jpg"] = unique_jpeg()
    data = make_zip(members, zipfile.ZIP_DEFLATED)
    assert len(data) < 2_000_000  # 300 MiB of zeros in under 2 MB
    results = list(actions.upload_many(alice, [("zeros.zip", io.BytesIO(data))], actions.AssetOptions()))

    assert inflated == ["real.jpg"]
    assert sum(r.status == "rejected" for r in results) == 300
    assert {r.reason for r in results if r.status == "rejected"} == {filetypes.UNSUPPORTED}
    assert [r.filename for r in results if r.status == "created"] == ["zeros.zip/real.jpg"]
