"""Portal test helpers: asset rows (with thumbnails rows) built straight in the database."""

from __future__ import annotations

import itertools

from assets.models import Asset, BlobStore, Rendition, Status, Visibility
from tests.factories import asset_row, fake_blob

_counter = itertools.count(1)


def make_asset(owner, *, title=None, visibility=Visibility.PRIVATE, team=None, status=Status.READY,
               tags=(), renditions=True, error="", **fields) -> Asset:
    """An asset row with fake file names: enough for pages that list and describe assets."""
    n = next(_counter)
    asset = asset_row(
        owner,
        team=team,
        visibility=visibility,
        original_filename=f"IMG_{n:04d}.jpg",
        title=title if title is not None else f"Asset {n}",
        tags=list(tags),
        byte_size=1000 + n,
        width=640,
        height=480,
        status=status,
        error=error,
        **fields,
    )
    if renditions:
        for size, (w, h) in ((256, (256, 192)), (1024, (640, 480))):
            Rendition.objects.create(asset=asset, spec=f"max{size}", blob=fake_blob(BlobStore.RENDITION),
                                     width=w, height=h)
    return asset
