"""Thumbnails: right way up (EXIF orientation applied), flattened to RGB, stored as JPEG rows."""

from __future__ import annotations

import io

from django.core.files.base import ContentFile
from PIL import Image, ImageOps

from assets.models import Asset, Rendition
from assets.storage import get_rendition_storage


def spec_for(size: int) -> str:
    return f"max{size}"


def orient_for_size(image: Image.Image, target: int) -> Image.Image:
    """Decode cheaply for a target size when it is a JPEG, then apply EXIF orientation.

    Read the EXIF before calling this: the transposed copy no longer carries the orientation tag.
    """
    if image.format in ("JPEG", "MPO"):
        image.draft("RGB", (target, target))
    return ImageOps.exif_transpose(image)


def to_rgb(image: Image.Image) -> Image.Image:
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        canvas = Image.new("RGB", rgba.size, (255, 255, 255))
        canvas.paste(rgba, mask=rgba.getchannel("A"))
        return canvas
    return image.convert("RGB")


def render_jpeg(image: Image.Image, size: int) -> tuple[bytes, int, int]:
    copy = to_rgb(image)
    copy.thumbnail((size, size), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    copy.save(buffer, format="JPEG", quality=85, optimize=True, progressive=True)
    return buffer.getvalue(), copy.width, copy.height


def make_renditions(asset: Asset, image: Image.Image, sizes: list[int]) -> list[Rendition]:
    storage = get_rendition_storage()
    made = []
    for size in sorted(sizes):
        data, width, height = render_jpeg(image, size)
        rendition, _ = Rendition.objects.get_or_create(
            asset=asset, spec=spec_for(size), defaults={"width": width, "height": height}
        )
        if rendition.file:
            # Reprocessing replaces the file under the same deterministic name.
            storage.delete(rendition.file.name)
        rendition.width, rendition.height = width, height
        rendition.file.save("thumb.jpg", ContentFile(data), save=False)
        rendition.save()
        made.append(rendition)
    return made
