"""A download of an original changes nothing, but who took a copy of what is part of the history."""

from __future__ import annotations

from assets.actions import audit
from assets.models import Asset


def record_download(actor, asset: Asset, *, via: str) -> None:
    audit.record(actor, "asset.downloaded", asset, detail={"via": via, "bytes": asset.byte_size})
