"""Every valid photo of the shared exif-samples ingests: stored, processed in-process, ready, with the EXIF
fields it really has (read here independently with Pillow) and thumbnails the right way up."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageStat

from assets import actions
from assets.models import Asset, Status
from assets.processing import process_asset
from tests.conftest import SAMPLES, sample

pytestmark = pytest.mark.django_db

# jpg/invalid/, jpg/tests/ and jpg/corrupted.jpg are the odd ones: test_upload_rejections covers them.
ODD = ("jpg/invalid/", "jpg/tests/", "jpg/corrupted.jpg")
VALID = sorted(
    str(p.relative_to(SAMPLES))
    for p in SAMPLES.rglob("*")
    if p.is_file() and p.name != "README" and not str(p.relative_to(SAMPLES)).startswith(ODD)
)
GPS_FILES = [name for name in VALID if name.startswith("jpg/gps/")]


def test_the_sample_set_is_what_these_tests_expect():
    folders = {str(Path(name).parent) for name in VALID}
    assert folders == {
        "heic", "heic/mobile", "jpg", "jpg/exif-org", "jpg/gps", "jpg/hdr", "jpg/mobile", "jpg/orientation",
        "jpg/xmp", "tiff",
    }
    assert len(VALID) == 80
    assert len(GPS_FILES) == 9


# --- Independent readings with Pillow ----------------------------------------------------------


def _clean(value) -> str:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return value.replace("\x00", "").strip() if isinstance(value, str) else ""


def _dms(values, ref) -> float:
    degrees, minutes, seconds = (float(v) for v in values)
    sign = -1 if _clean(ref).upper() in ("S", "W") else 1
    return sign * (degrees + minutes / 60 + seconds / 3600)


def pillow_reading(path: Path) -> dict:
    with Image.open(path) as image:
        exif = image.getexif()
        gps = exif.get_ifd(0x8825)
        orientation = exif.get(0x0112)
        reading = {"make": _clean(exif.get(0x010F)), "model": _clean(exif.get(0x0110)), "size": image.size}
        if gps.get(2) and gps.get(4):
            reading["gps"] = (_dms(gps[2], gps.get(1)), _dms(gps[4], gps.get(3)))
        width, height = image.size
        reading["upright"] = (height, width) if orientation in (5, 6, 7, 8) else (width, height)
    return reading


def ingest(user, path: Path) -> Asset:
    with path.open("rb") as stream:
        result = actions.upload_asset(user, stream, path.name, actions.AssetOptions())
    assert result.status == "created", result.reason
    assert process_asset(result.asset.pk).startswith("ready")
    return Asset.objects.get(pk=result.asset.pk)


def thumbnail(asset: Asset, spec: str = "max256") -> Image.Image:
    rendition = asset.renditions.get(spec=spec)
    with rendition.blob.open() as handle:
        image = Image.open(io.BytesIO(handle.read()))
        image.load()
    assert image.format == "JPEG" and image.size == (rendition.width, rendition.height)
    return image


# --- Every valid sample ------------------------------------------------------------------------


@pytest.mark.parametrize("relative", VALID)
def test_valid_sample_becomes_ready_with_its_metadata(relative, alice):
    path = sample(relative)
    expected = pillow_reading(path)

    asset = ingest(alice, path)

    assert asset.status == Status.READY and asset.error == ""
    assert asset.processing_attempts == 1
    assert asset.mime_type == {"jpg": "image/jpeg", "heic": "image/heif", "tiff": "image/tiff"}[relative.split("/")[0]]
    assert asset.camera_make == expected["make"][:128]
    assert asset.camera_model == expected["model"][:128]
    if "gps" in expected:
        assert (asset.gps_latitude, asset.gps_longitude) == pytest.approx(expected["gps"], abs=1e-6)
    else:
        assert asset.gps_latitude is None and asset.gps_longitude is None
    # Dimensions as people see the photo; thumbnails keep that shape and never upscale.
    assert (asset.width, asset.height) == expected["upright"]
    for size in (256, 1024):
        thumb = thumbnail(asset, f"max{size}")
        scale = min(1.0, size / max(expected["upright"]))
        assert thumb.size == pytest.approx(tuple(d * scale for d in expected["upright"]), abs=1)
        assert thumb.mode == "RGB"


@pytest.mark.parametrize("relative", GPS_FILES)
def test_every_gps_sample_has_coordinates(relative, alice):
    """Separate from the test above so that a file silently losing its GPS block cannot pass as 'no GPS'."""
    asset = ingest(alice, sample(relative))
    latitude, longitude = pillow_reading(sample(relative))["gps"]
    assert asset.gps_latitude == pytest.approx(latitude, abs=1e-6)
    assert asset.gps_longitude == pytest.approx(longitude, abs=1e-6)
    # The collection was shot in Tuscany: a sign or axis mix-up would land elsewhere.
    assert 43.4 < asset.gps_latitude < 43.5 and 11.8 < asset.gps_longitude < 11.9
    assert asset.exif["gps"]["latitude"] == asset.gps_latitude


def test_taken_at_and_exif_fields_of_a_known_camera(alice):
    asset = ingest(alice, sample("jpg/Canon_40D.jpg"))
    assert asset.taken_at.isoformat() == "2008-05-30T15:56:01+00:00"
    assert asset.exif["make"] == "Canon" and asset.exif["model"] == "Canon EOS 40D"
    assert asset.exif["f_number"] == pytest.approx(7.1)
    assert asset.exif["focal_length"] == pytest.approx(135.0)


# --- Orientation --------------------------------------------------------------------------------


def _small_grey(image: Image.Image) -> Image.Image:
    size = (32, 24) if image.width >= image.height else (24, 32)
    return image.convert("L").resize(size, Image.Resampling.BOX)


def _difference(a: Image.Image, b: Image.Image) -> float:
    return ImageStat.Stat(ImageChops.difference(_small_grey(a), _small_grey(b))).mean[0]


# Measured on these files: the right way up differs from the orientation-1 reference by at most 15 (the eight
# files are separately encoded, with slightly different crops); any mirror or rotation differs by 27 or more.
SAME_PICTURE = 20.0


@pytest.mark.parametrize("kind", ["landscape", "portrait"])
def test_thumbnails_are_the_right_way_up_for_all_eight_orientations(kind, alice):
    with Image.open(sample(f"jpg/orientation/{kind}_1.jpg")) as reference:
        reference = reference.convert("RGB")
        reference.thumbnail((256, 256))
    for n in range(1, 9):
        asset = ingest(alice, sample(f"jpg/orientation/{kind}_{n}.jpg"))
        thumb = thumbnail(asset)
        assert asset.orientation == n
        assert (thumb.width > thumb.height) is (kind == "landscape"), (n, thumb.size)
        assert (asset.width > asset.height) is (kind == "landscape"), (n, asset.width, asset.height)
        assert thumb.size == reference.size, n
        assert _difference(thumb, reference) < SAME_PICTURE, f"{kind}_{n} thumbnail is mirrored or rotated"


def test_the_orientation_check_catches_a_mirrored_thumbnail():
    """The tolerance above is meaningful: mirrored or rotated copies of the reference fall outside it."""
    with Image.open(sample("jpg/orientation/landscape_1.jpg")) as reference:
        reference = reference.convert("RGB")
        reference.thumbnail((256, 256))
    for wrong in (Image.Transpose.FLIP_LEFT_RIGHT, Image.Transpose.FLIP_TOP_BOTTOM, Image.Transpose.ROTATE_180):
        assert _difference(reference.transpose(wrong), reference) > SAME_PICTURE
