"""Rows built straight in the database, for tests of pages, search and rules that need many assets
but no real files. Real uploads go through ``assets.actions.upload_asset`` (see tests/assets).

Like the actions, these keep the keyword index in step (tests of search rely on it).
"""

from __future__ import annotations

import hashlib
import itertools

from assets import keyword_index
from assets.models import Asset, Blob, BlobStore

_counter = itertools.count(1)


def fake_blob(store: str = BlobStore.ORIGINAL, sha256: str | None = None, mime_type: str = "image/jpeg") -> Blob:
    """A blob row whose file does not exist (pages that only link to files never open them)."""
    sha256 = sha256 or hashlib.sha256(f"blob-{next(_counter)}".encode()).hexdigest()
    blob, _ = Blob.objects.get_or_create(
        store=store, sha256=sha256,
        defaults={"size": 1, "name": f"{store}s/{sha256[:2]}/{sha256[2:4]}/{sha256}-test.jpg", "mime_type": mime_type},
    )
    return blob


def asset_row(owner, *, index: bool = True, **fields) -> Asset:
    """An Asset row (indexed for keyword search) with a fake blob and a unique hash. A test that
    builds thousands passes ``index=False`` and indexes them with ``keyword_index.reindex`` in batches."""
    sha256 = fields.pop("sha256", None) or hashlib.sha256(f"asset-{next(_counter)}".encode()).hexdigest()
    fields.setdefault("mime_type", "image/jpeg")
    fields.setdefault("byte_size", 1)
    asset = Asset.objects.create(owner=owner, blob=fake_blob(sha256=sha256), sha256=sha256, **fields)
    if index:
        keyword_index.reindex([asset.pk])
    return asset
