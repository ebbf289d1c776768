"""Decoding for the image model: upright (EXIF), RGB, and JPEGs decoded small via draft mode."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from workers.ml.images import load_image_for_model

ORIENTATION = (
    Path(os.environ.get("MEDIAVAULT_SHARED_DATA", Path(__file__).resolve().parents[3] / "shared" / "data"))
    / "exif-samples" / "jpg" / "orientation"
)


@pytest.fixture
def orientation_sample():
    def path(name: str) -> Path:
        found = ORIENTATION / name
        if not found.exists():
            pytest.fail(f"shared test data missing: {found}")
        return found

    return path


def test_jpeg_is_drafted_but_never_below_the_requested_size(orientation_sample):
    source = orientation_sample("landscape_1.jpg")
    with Image.open(source) as raw:
        full = raw.size
    image = load_image_for_model(source, 100)
    assert image.mode == "RGB"
    assert min(image.size) >= 100
    # DCT scaling happened: 600x450 decodes at 1/4 scale, not at full size.
    assert image.size[0] < full[0] / 2


def test_exif_orientation_is_applied(orientation_sample):
    upright = load_image_for_model(orientation_sample("landscape_1.jpg"), 100)
    rotated_source = orientation_sample("landscape_6.jpg")
    with Image.open(rotated_source) as raw:
        stored = raw.size
    turned = load_image_for_model(rotated_source, 100)
    # Orientation 6 files are stored on their side (taller than wide) and come out like landscape_1.
    assert stored[0] < stored[1]
    assert turned.size == upright.size
    assert turned.size[0] > turned.size[1]
    a = np.asarray(upright, dtype=float)
    same = np.abs(a - np.asarray(turned, dtype=float)).mean()
    upside_down = np.abs(a - np.asarray(turned.rotate(180), dtype=float)).mean()
    assert same < 30 < upside_down


def test_small_jpeg_and_other_formats_keep_their_size(tmp_path, orientation_sample):
    assert load_image_for_model(orientation_sample("landscape_1.jpg"), 1000).size == (600, 450)
    png = tmp_path / "alpha.png"
    Image.new("RGBA", (40, 30), (255, 0, 0, 128)).save(png)
    image = load_image_for_model(png, 16)
    assert image.mode == "RGB"
    assert image.size == (40, 30)
