"""What a player gets for a video or audio asset: its web-playable copy (the ``proxy`` rendition,
H.264/AAC MP4 made at ingest) or, when the original already plays in browsers, the original."""

from __future__ import annotations

from assets.models import Asset, Blob, MediaType, Rendition

PROXY_SPEC = "proxy"
PLAYABLE_TYPES = (MediaType.VIDEO, MediaType.AUDIO)
# A QuickTime file is the same box structure as an MP4: players take it as one (Firefox refuses the
# QuickTime type itself); the download keeps the original's type.
PLAYED_AS = {"video/quicktime": "video/mp4"}


def clock(seconds: float | None, tenths: bool = False) -> str:
    """0:07, 3:05, 1:02:03 (with `tenths`, 0:07.4): a length or a moment as players show it."""
    if seconds is None:
        return ""
    if tenths and seconds < 60:
        return f"0:{seconds:04.1f}"
    whole = int(round(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def plays_as_is(asset: Asset) -> bool:
    return bool((asset.media_info or {}).get("plays_in_browsers"))


def has_something_to_play(asset: Asset, renditions) -> bool:
    """Whether `playable` would find something, from the asset's renditions as already fetched."""
    if asset.media_type not in PLAYABLE_TYPES:
        return False
    return plays_as_is(asset) or any(r.spec == PROXY_SPEC for r in renditions)


def playable(asset: Asset) -> tuple[Blob, str] | None:
    """(blob, MIME type) to play, or None: not video or audio, or no playable copy yet."""
    if asset.media_type not in PLAYABLE_TYPES:
        return None
    proxy = Rendition.objects.select_related("blob").filter(asset=asset, spec=PROXY_SPEC).first()
    if proxy is not None:
        return proxy.blob, proxy.mime_type
    if plays_as_is(asset):
        return asset.blob, PLAYED_AS.get(asset.mime_type, asset.mime_type)
    return None
