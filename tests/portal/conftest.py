"""Portal test helpers: signed-in test clients and asset rows built straight in the database."""

from __future__ import annotations

import hashlib
import itertools

from assets.models import Asset, Rendition, Status, Visibility

_counter = itertools.count(1)


def make_asset(owner, *, title=None, visibility=Visibility.PRIVATE, team=None, status=Status.READY,
               tags=(), renditions=True, error="", **fields) -> Asset:
    """An asset row with fake file names: enough for pages that list and describe assets."""
    n = next(_counter)
    sha = hashlib.sha256(f"asset-{n}".encode()).hexdigest()
    asset = Asset.objects.create(
        owner=owner,
        team=team,
        visibility=visibility,
        file=f"originals/{sha[:2]}/{sha[2:4]}/{sha}.jpg",
        original_filename=f"IMG_{n:04d}.jpg",
        title=title if title is not None else f"Asset {n}",
        tags=list(tags),
        sha256=sha,
        mime_type="image/jpeg",
        byte_size=1000 + n,
        width=640,
        height=480,
        status=status,
        error=error,
        **fields,
    )
    if renditions:
        for size, (w, h) in ((256, (256, 192)), (1024, (640, 480))):
            Rendition.objects.create(
                asset=asset, spec=f"max{size}", file=f"renditions/{sha[:2]}/{sha[2:4]}/{asset.uid}-max{size}.jpg",
                width=w, height=h,
            )
    return asset
