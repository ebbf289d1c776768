"""What a player gets for a video or audio asset: its web-playable copy (the ``proxy`` rendition,
H.264/AAC MP4 made at ingest) or, when the original already plays in browsers, the original."""

from __future__ import annotations

from assets.models import Asset, Blob, MediaType, Rendition

PROXY_SPEC = "proxy"
PLAYABLE_TYPES = (MediaType.VIDEO, MediaType.AUDIO)


def plays_as_is(asset: Asset) -> bool:
    return bool((asset.media_info or {}).get("plays_in_browsers"))


def playable(asset: Asset) -> tuple[Blob, str] | None:
    """(blob, MIME type) to play, or None: not video or audio, or no playable copy yet."""
    if asset.media_type not in PLAYABLE_TYPES:
        return None
    proxy = Rendition.objects.select_related("blob").filter(asset=asset, spec=PROXY_SPEC).first()
    if proxy is not None:
        return proxy.blob, proxy.mime_type
    if plays_as_is(asset):
        return asset.blob, asset.mime_type
    return None
