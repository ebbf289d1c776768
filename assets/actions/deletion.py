"""Deleting moves assets to the trash; they come back with restore, or go for good with purge.

In the trash an asset is outside every path but the trash page (``Asset.objects.visible_to``
leaves it out, and it has no keyword index rows), for ``MEDIAVAULT_TRASH_RETENTION_DAYS``; then
the scheduled purge removes its rows and, once nothing else uses them, its files.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from assets import keyword_index
from assets.actions import audit, blobs
from assets.actions.editing import lock_editable
from assets.models import Asset, Rendition


def _locked(queryset, ids: Iterable[int]) -> list[Asset]:
    return list(queryset.filter(pk__in=list(ids)).select_for_update(of=("self",)).order_by("pk"))


def trash(actor, asset_ids: Iterable[int]) -> list[int]:
    """Move the assets `actor` may edit (None: the system, any) to the trash; returns their ids
    (others are left alone)."""
    with transaction.atomic():
        rows = lock_editable(actor, asset_ids)
        if not rows:
            return []
        ids = [a.pk for a in rows]
        Asset.objects.filter(pk__in=ids).update(deleted_at=timezone.now(), deleted_by=actor, updated_at=timezone.now())
        keyword_index.reindex(ids)  # trashed assets have no index rows
        audit.record(actor, "asset.trashed", rows[0] if len(rows) == 1 else None, asset_ids=ids)
    return ids


def restore_locked(actor, rows: list[Asset]) -> list[int]:
    """Take locked trashed rows out of the trash (in the caller's transaction)."""
    ids = [a.pk for a in rows if a.in_trash]
    if not ids:
        return []
    Asset.objects.filter(pk__in=ids).update(deleted_at=None, deleted_by=None, updated_at=timezone.now())
    for asset in rows:
        asset.deleted_at = asset.deleted_by = None
    keyword_index.reindex(ids)
    audit.record(actor, "asset.restored", rows[0] if len(rows) == 1 else None, asset_ids=ids)
    return ids


def _trashed(actor):
    """Trashed assets `actor` may restore or purge (None: the system, any)."""
    return Asset.objects.filter(deleted_at__isnull=False) if actor is None else Asset.objects.in_trash_of(actor)


def restore(actor, asset_ids: Iterable[int]) -> list[int]:
    """Restore the trashed assets `actor` may restore (their own; any for a superuser)."""
    with transaction.atomic():
        return restore_locked(actor, _locked(_trashed(actor), asset_ids))


def _purge_locked(actor, rows: list[Asset], reason: str) -> list[int]:
    ids = [a.pk for a in rows]
    if not ids:
        return []
    names = {str(a.pk): str(a) for a in rows}
    blob_ids = {a.blob_id for a in rows} | set(
        Rendition.objects.filter(asset_id__in=ids).values_list("blob_id", flat=True)
    )
    # Blob rows are locked before the assets go, so an upload reusing one of them waits or is seen.
    locked = blobs.lock(blob_ids)
    Asset.objects.filter(pk__in=ids).delete()  # renditions, vectors, index rows and collection items go with them
    removed = blobs.release(locked)
    audit.record(actor, "asset.purged", asset_ids=ids, detail={"reason": reason, "titles": names, "files": removed})
    return ids


def purge(actor, asset_ids: Iterable[int]) -> list[int]:
    """Delete trashed assets for good (their own; any for a superuser), files included."""
    with transaction.atomic():
        return _purge_locked(actor, _locked(_trashed(actor), asset_ids), "purged from the trash")


def purge_expired(now: dt.datetime | None = None, limit: int = 500) -> list[int]:
    """The scheduled purge: assets trashed longer ago than the retention period."""
    cutoff = (now or timezone.now()) - dt.timedelta(days=settings.TRASH_RETENTION_DAYS)
    with transaction.atomic():
        rows = list(
            Asset.objects.filter(deleted_at__lt=cutoff).select_for_update(skip_locked=True).order_by("pk")[:limit]
        )
        return _purge_locked(None, rows, f"in the trash for over {settings.TRASH_RETENTION_DAYS} days")
