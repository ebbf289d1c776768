"""What the portal shows of video, audio and PDF assets: a card's badge (a clip's length, a
document's pages), the facts the probe found, the frame strip and the page previews.

Reads only the asset row and its prefetched renditions (``assets.representation.shown``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.conf import settings
from django.urls import reverse
from django.utils import dateformat, timezone

from assets import playback
from assets.models import Asset, MediaType
from assets.models.assets import thumbnail_spec
from assets.representation import shown


def badge(asset: Asset) -> str:
    """The short line a card shows over its thumbnail; "" for photos."""
    info = asset.media_info or {}
    if asset.media_type == MediaType.VIDEO:
        return f"Video · {playback.clock(asset.duration)}"
    if asset.media_type == MediaType.AUDIO:
        return f"Audio · {playback.clock(asset.duration)}"
    if asset.media_type == MediaType.DOCUMENT:
        pages = info.get("page_count")
        return f"PDF · {pages} page{'' if pages == 1 else 's'}" if pages else "PDF"
    return ""


def _rate(bits: int | None) -> str:
    if not bits:
        return ""
    return f"{bits / 1_000_000:.1f} Mbit/s" if bits >= 1_000_000 else f"{round(bits / 1000)} kbit/s"


def facts(asset: Asset) -> list[tuple[str, str]]:
    """(label, value) rows of what the probe found; empty for photos (their EXIF has its own table)."""
    info = asset.media_info or {}
    rows: list[tuple[str, str]] = []
    if asset.media_type in playback.PLAYABLE_TYPES:
        rows.append(("Length", playback.clock(asset.duration)))
        if info.get("video_codec"):
            rows.append(("Video", " · ".join(filter(None, [
                info["video_codec"].upper(),
                f"{info['fps']:.3g} frames/s" if info.get("fps") else "",
                f"rotated {info['rotation']}°" if info.get("rotation") else "",
            ]))))
        if info.get("audio_codec"):
            rows.append(("Audio", " · ".join(filter(None, [
                info["audio_codec"].upper(),
                f"{info['sample_rate'] / 1000:g} kHz" if info.get("sample_rate") else "",
                {1: "mono", 2: "stereo"}.get(info.get("channels"), f"{info['channels']} channels")
                if info.get("channels") else "",
            ]))))
        if info.get("bit_rate"):
            rows.append(("Bit rate", _rate(info["bit_rate"])))
        rows.append(("Container", info.get("container", "")))
        if info.get("year"):
            rows.append(("Year", str(info["year"])))
    elif asset.media_type == MediaType.DOCUMENT:
        rows.append(("Pages", str(info.get("page_count", "—"))))
        if info.get("width") and info.get("height"):
            rows.append(("Page size", f"{info['width']} × {info['height']} pt"))
        if asset.taken_at:
            rows.append(("Created", dateformat.format(timezone.localtime(asset.taken_at), "j M Y, H:i")))
        for key, label in (("producer", "Made with"), ("creator", "Created with")):
            if info.get(key):
                rows.append((label, info[key]))
    return [(label, value) for label, value in rows if value]


@dataclass(frozen=True)
class Still:
    """A frame of a video or a page of a document, as the asset page lists them."""

    url: str
    width: int
    height: int
    caption: str
    seconds: float | None = None


def _spec_number(spec: str, prefix: str) -> int | None:
    match = re.fullmatch(rf"{prefix}(\d+)", spec)
    return int(match.group(1)) if match else None


def is_listed_download(spec: str) -> bool:
    """Whether the Downloads list offers this rendition: frames and later pages have their own section."""
    return _spec_number(spec, "frame") is None and _spec_number(spec, "page") is None


def stills(asset: Asset) -> list[Still]:
    """A video's frame strip (with times) or a document's page previews, in order."""
    renditions = {r.spec: r for r in shown(asset, "renditions")}

    def still(spec: str, caption: str, seconds: float | None = None) -> Still | None:
        rendition = renditions.get(spec)
        if rendition is None:
            return None
        url = reverse("api:asset-rendition", args=[asset.pk, spec])
        return Still(url, rendition.width, rendition.height, caption, seconds)

    found: list[Still | None] = []
    if asset.media_type == MediaType.VIDEO:
        # A short clip's frames are less than a second apart: their times need tenths to differ.
        tenths = (asset.duration or 0) < 60
        for frame in (asset.media_info or {}).get("frames") or []:
            seconds = frame.get("seconds")
            found.append(still(str(frame.get("spec")), playback.clock(seconds, tenths), seconds))
    elif asset.media_type == MediaType.DOCUMENT:
        numbers = sorted(n for spec in renditions if (n := _spec_number(spec, "page")) is not None)
        found.append(still(thumbnail_spec(max(settings.RENDITION_SIZES)), "Page 1"))  # the first page is the preview
        found.extend(still(f"page{n}", f"Page {n}") for n in numbers)
    return [s for s in found if s is not None]


def player(asset: Asset) -> dict | None:
    """What the page's player needs: its kind and source; None when there is nothing to play yet."""
    if not playback.has_something_to_play(asset, shown(asset, "renditions")):
        return None
    return {"kind": asset.media_type, "url": reverse("api:asset-play", args=[asset.pk])}
