"""The ingest step a worker runs for one asset: metadata and thumbnails. Idempotent and row-locked."""

from __future__ import annotations

import datetime as dt
import logging
import time

from django.conf import settings
from django.db import DatabaseError, models, transaction
from django.utils import timezone
from PIL import Image

from assets import queue
from assets.metadata import extract_exif
from assets.models import Asset, EmbeddingStatus, Status
from assets.renditions import make_renditions, orient_for_size

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5


def process_asset(asset_id: int) -> str:
    """Extract metadata and make thumbnails. Returns what happened, for the task log.

    The claim is committed on its own so people watching see "processing"; the work itself
    is idempotent (deterministic rendition names, get_or_create rows), so a duplicate delivery
    of the same message costs time but never corrupts anything.
    """
    started = time.monotonic()
    with transaction.atomic():
        asset = Asset.objects.select_for_update(skip_locked=True).filter(pk=asset_id).first()
        if asset is None:
            return "skipped: gone or locked by another worker"
        if asset.status == Status.READY:
            return "skipped: already ready"
        asset.status, asset.error = Status.PROCESSING, ""
        asset.status_changed_at = timezone.now()
        asset.processing_attempts += 1
        asset.save(update_fields=["status", "error", "status_changed_at", "processing_attempts", "updated_at"])
    try:
        fields = _extract_and_render(asset)
        fields.update(status=Status.READY, error="")
    except Exception as exc:  # a broken file must end as a readable failure, not a stuck row
        log.exception("processing asset %s failed", asset_id)
        fields = {"status": Status.FAILED, "error": f"processing failed: {type(exc).__name__}: {exc}"[:1000]}
    fields["status_changed_at"] = timezone.now()
    for name, value in fields.items():
        setattr(asset, name, value)
    try:
        # save(), not update(): listeners (the keyword index reads camera make and model) must see it;
        # update_fields: an edit made meanwhile in the portal is not overwritten.
        asset.save(update_fields=[*fields, "updated_at"])
    except DatabaseError:
        return "skipped: deleted while processing"
    if fields["status"] == Status.READY:
        queue.enqueue_embed([asset_id])
    return f"{fields['status']} in {time.monotonic() - started:.2f}s"


def _extract_and_render(asset: Asset) -> dict:
    sizes = settings.RENDITION_SIZES
    with asset.file.open("rb") as handle:
        raw = Image.open(handle)
        exif = extract_exif(raw)
        make_renditions(asset, orient_for_size(raw, max(sizes)), sizes)
    gps = exif.get("gps") or {}
    orientation = exif.get("orientation")
    width, height = asset.width, asset.height
    if orientation in (5, 6, 7, 8):
        # Store the dimensions as people see the photo, not as the sensor wrote it.
        width, height = height, width
    return {
        "exif": exif,
        "camera_make": exif.get("make", "")[:128],
        "camera_model": exif.get("model", "")[:128],
        "lens": exif.get("lens", "")[:128],
        "orientation": orientation,
        "taken_at": dt.datetime.fromisoformat(exif["taken_at"]) if "taken_at" in exif else None,
        "gps_latitude": gps.get("latitude"),
        "gps_longitude": gps.get("longitude"),
        "width": width,
        "height": height,
    }


def sweep_stuck(now: dt.datetime | None = None) -> list[int]:
    """Re-enqueue assets left pending or processing too long: a lost broker message never loses an asset."""
    now = now or timezone.now()
    cutoff = now - dt.timedelta(seconds=settings.PROCESSING_STUCK_AFTER_S)
    stuck = Asset.objects.filter(status__in=[Status.PENDING, Status.PROCESSING], status_changed_at__lt=cutoff)
    exhausted = stuck.filter(processing_attempts__gte=MAX_ATTEMPTS)
    exhausted.update(
        status=Status.FAILED, error=f"gave up after {MAX_ATTEMPTS} attempts", status_changed_at=now
    )
    ids = list(stuck.filter(processing_attempts__lt=MAX_ATTEMPTS).values_list("pk", flat=True)[:1000])
    if ids:
        # Touch the timestamp so the next sweep does not enqueue them again before a worker gets to them.
        Asset.objects.filter(pk__in=ids).update(status_changed_at=now)
        for asset_id in ids:
            queue.enqueue_ingest(asset_id)
    _sweep_embeddings(now, cutoff)
    return ids


def _sweep_embeddings(now: dt.datetime, cutoff: dt.datetime) -> None:
    """Ready assets whose vectors were claimed and abandoned, or never picked up, go back to the queue."""
    waiting = Asset.objects.filter(status=Status.READY).filter(
        models.Q(embedding_status=EmbeddingStatus.EMBEDDING, embedding_changed_at__lt=cutoff)
        | models.Q(embedding_status=EmbeddingStatus.PENDING, status_changed_at__lt=cutoff)
    )
    ids = list(waiting.values_list("pk", flat=True)[:5000])
    if ids:
        Asset.objects.filter(pk__in=ids).update(embedding_status=EmbeddingStatus.PENDING, embedding_changed_at=now)
        queue.enqueue_embed(ids)
