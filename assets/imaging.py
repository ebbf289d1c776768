"""Decide from the bytes alone what an upload is, and refuse anything that is not a sound image."""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from typing import BinaryIO

from django.conf import settings
from PIL import ExifTags, Image, ImageFile, UnidentifiedImageError

from assets.errors import RejectedUpload

# Pillow format name -> MIME type we store and serve.
ALLOWED_FORMATS = {
    "JPEG": "image/jpeg",
    "MPO": "image/jpeg",  # multi-picture JPEG from phones and 3D cameras; a JPEG to every viewer
    "PNG": "image/png",
    "WEBP": "image/webp",
    "GIF": "image/gif",
    "TIFF": "image/tiff",
    "HEIF": "image/heif",
}
_HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"}


def configure_pillow() -> None:
    from pillow_heif import register_heif_opener

    register_heif_opener()
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    Image.MAX_IMAGE_PIXELS = settings.MAX_IMAGE_PIXELS
    # Pillow only warns between 1x and 2x the pixel cap; a warning lets a bomb through.
    warnings.simplefilter("error", Image.DecompressionBombWarning)


def sniff_signature(head: bytes) -> str | None:
    """The format the leading bytes claim, or None; Pillow must then agree with the claim."""
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "TIFF"
    if head[4:8] == b"ftyp" and head[8:12] in _HEIF_BRANDS:
        return "HEIF"
    return None


UNSUPPORTED = "unsupported file type: not a JPEG, PNG, WebP, GIF, TIFF or HEIC/HEIF image"
SIGNATURE_BYTES = 32


def check_signature(head: bytes) -> str:
    """The format the first bytes claim; RejectedUpload when they claim none we take."""
    claimed = sniff_signature(head)
    if claimed is None:
        raise RejectedUpload(UNSUPPORTED)
    return claimed


@dataclass(frozen=True)
class ImageInfo:
    mime_type: str
    width: int
    height: int


def decoded_bytes(image: Image.Image) -> int:
    """What Pillow holds in memory for the full-size frame: a byte per pixel for palette and grey
    images, two for 16-bit grey, four for everything else (RGB is stored as 32 bits a pixel)."""
    if image.mode in ("1", "L", "P"):
        per_pixel = 1
    elif image.mode.startswith("I;16"):
        per_pixel = 2
    else:
        per_pixel = 4
    width, height = image.size
    return width * height * per_pixel


def _check_decode_memory(image: Image.Image, claimed: str) -> None:
    """JPEGs decode at a reduced scale (draft) wherever MediaVault reads them; other formats decode
    at full size at least once, so their full size must fit the memory budget (a 315 KB PNG of
    99 megapixels would take 400 MB, and a worker's copies of it several times that)."""
    if claimed == "JPEG":
        return
    needed = decoded_bytes(image)
    if needed > settings.MAX_DECODE_BYTES:
        mib = 1024 * 1024
        raise RejectedUpload(
            f"image would take {needed // mib:,} MiB of memory to decode ({image.size[0]}x{image.size[1]} "
            f"{image.mode}), over the limit of {settings.MAX_DECODE_BYTES // mib:,} MiB"
        )


def inspect_image(stream: BinaryIO) -> ImageInfo:
    """Sniff, check dimensions and fully decode the first frame; raise RejectedUpload otherwise."""
    stream.seek(0)
    claimed = check_signature(stream.read(SIGNATURE_BYTES))
    stream.seek(0)
    try:
        # Only the plugin the signature names may parse the bytes: no other format's parser is ever reached.
        with Image.open(stream, formats=[claimed]) as image:
            detected = "JPEG" if image.format == "MPO" else image.format
            if detected != claimed:
                raise RejectedUpload(f"file content is not a valid {claimed} image")
            width, height = image.size
            if width < 1 or height < 1:
                raise RejectedUpload("image has no pixels")
            if width * height > settings.MAX_IMAGE_PIXELS:
                raise RejectedUpload(
                    f"image is {width}x{height} pixels, over the limit of {settings.MAX_IMAGE_PIXELS:,} pixels"
                )
            _check_decode_memory(image, claimed)
            if claimed == "JPEG":
                # DCT scaling decodes every block at 1/8 size: truncation still shows, at a fraction of the cost.
                image.draft("RGB", (max(1, width // 8), max(1, height // 8)))
            image.load()
            mime_type = ALLOWED_FORMATS[image.format]
    except RejectedUpload:
        raise
    except UnidentifiedImageError:
        raise RejectedUpload(f"file content is not a valid {claimed} image") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise RejectedUpload(
            f"image is over the limit of {settings.MAX_IMAGE_PIXELS:,} pixels (decompression bomb)"
        ) from None
    except Exception as exc:  # Pillow raises many types for broken files; each one is a rejection
        raise RejectedUpload(f"corrupt or truncated {claimed} image ({type(exc).__name__}: {exc})"[:300]) from None
    finally:
        stream.seek(0)
    return ImageInfo(mime_type=mime_type, width=width, height=height)


# --- Decoding for display and models ------------------------------------------------------------
# Thumbnails, query images, the search page's preview and the models all read images this way.


def upright(image: Image.Image, at_least: int) -> Image.Image:
    """`image` right way up (EXIF orientation applied), in RGB with any transparency on white,
    decoded no larger than needed to keep both sides at least `at_least` pixels.

    For JPEGs ``draft`` lets libjpeg decode at 1/2, 1/4 or 1/8 scale (DCT scaling): on 12-MP
    photos about 4x faster here. Read the EXIF before calling this: the result no longer has it.
    """
    if image.format in ("JPEG", "MPO"):
        image.draft("RGB", (at_least, at_least))
    orientation = image.getexif().get(ExifTags.Base.Orientation)
    if image.mode not in _REDUCIBLE:
        image = _flattened(image)
    # Shrink first, by a whole factor (one box-filter pass over the full-size pixels), then turn and
    # convert the small copy: no full-size rotated or converted copy is ever made.
    factor = min(image.size) // max(1, at_least)
    if factor >= 2:
        image = image.reduce(factor)
    if orientation in _TRANSPOSE:
        image = image.transpose(_TRANSPOSE[orientation])
    return _flattened(image)


# EXIF orientation -> the transposition that makes the picture upright (as ImageOps.exif_transpose).
_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180, 4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_REDUCIBLE = {"L", "LA", "RGB", "RGBA", "RGBa", "La", "I", "F", "CMYK"}


def _flattened(image: Image.Image) -> Image.Image:
    """RGB, with any transparency composited on white."""
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        canvas = Image.new("RGB", rgba.size, (255, 255, 255))
        canvas.paste(rgba, mask=rgba.getchannel("A"))
        return canvas
    # A copy even when already RGB: the caller may close the file `image` was read from, which
    # frees its pixels.
    return image.convert("RGB")


def open_upright(source, at_least: int) -> Image.Image:
    """Open a file, path or stream and return it `upright` (decoded and closed)."""
    with Image.open(source) as image:
        return upright(image, at_least)


def jpeg_thumbnail(image: Image.Image, max_side: int, quality: int = 85) -> tuple[bytes, int, int]:
    """A JPEG of `image` fitted within `max_side` (never enlarged): (bytes, width, height)."""
    copy = image.copy()
    copy.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    copy.save(buffer, format="JPEG", quality=quality, optimize=True, progressive=True)
    return buffer.getvalue(), copy.width, copy.height
