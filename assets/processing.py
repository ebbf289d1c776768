"""The ingest step for one asset: metadata and thumbnails.

`process_asset` claims the asset, runs `extract` (which computes and writes nothing) while the
claim's lease is kept alive, and reports the result through ``assets.actions.pipeline``, which
writes it only if the claim still holds.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import time

from django.conf import settings
from PIL import Image

from assets import leases
from assets.actions import pipeline
from assets.actions.pipeline import IngestResult, RenditionData
from assets.errors import RejectedUpload
from assets.imaging import jpeg_thumbnail, upright
from assets.metadata import extract_exif
from assets.models import Asset, MediaType
from assets.models.assets import thumbnail_spec

log = logging.getLogger(__name__)


def process_asset(asset_id: int) -> str:
    """Run the ingest step for one asset; returns what happened, for the task log.

    Database errors propagate: the task fails, the claim's lease runs out and the sweeper sends
    the asset again. A file that cannot be read ends as a readable failure, not a stuck row."""
    claim = pipeline.claim_ingest(asset_id)
    if claim is None:
        return "skipped: not pending (done, claimed by another worker, or gone)"
    with leases.kept(pipeline.INGEST, claim.token):
        try:
            result = extract(claim.assets[0], _progress_reporter(claim))
        except Exception as exc:
            log.exception("processing asset %s failed", asset_id)
            kept = pipeline.fail_ingest(claim, f"processing failed: {_reason(exc)}")
            return "failed" if kept else "discarded: the asset changed while it was processed"
    try:
        if not pipeline.finish_ingest(claim, result):
            return "discarded: the asset changed while it was processed"
    finally:
        for rendition in result.renditions:
            if rendition.path:
                os.unlink(rendition.path)
    return f"ready in {result.seconds:.2f}s"


def _reason(exc: Exception) -> str:
    return exc.reason if isinstance(exc, RejectedUpload) else f"{type(exc).__name__}: {exc}"


def _progress_reporter(claim):
    """Writes the fraction done at most every 2 s: a progress bar, not a database load."""
    last = [0.0]

    def report(fraction: float) -> None:
        now = time.monotonic()
        if now - last[0] >= 2.0:
            last[0] = now
            pipeline.report_progress(claim, fraction)

    return report


def extract(asset: Asset, progress=lambda fraction: None) -> IngestResult:
    """What the file holds: for a photo its EXIF, GPS, upright dimensions and one JPEG rendition per
    configured size; for video, audio and PDF what ``assets.media_ingest`` makes of them."""
    started = time.monotonic()
    if asset.media_type != MediaType.IMAGE:
        from assets.media_ingest import EXTRACTORS

        result = EXTRACTORS[asset.media_type](asset, progress)
        result.seconds = time.monotonic() - started
        return result
    largest = max(settings.RENDITION_SIZES)
    with asset.blob.open() as handle, Image.open(handle) as raw:
        exif = extract_exif(raw)
        image = upright(raw, largest)
    renditions = thumbnails(image)
    gps = exif.get("gps") or {}
    orientation = exif.get("orientation")
    width, height = asset.width, asset.height
    if orientation in (5, 6, 7, 8):
        # Store the dimensions as people see the photo, not as the sensor wrote it.
        width, height = height, width
    fields = {
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
    return IngestResult(fields, renditions, time.monotonic() - started)


def thumbnails(image: Image.Image) -> list[RenditionData]:
    """One JPEG thumbnail per configured size (what grids show and analysers read), from the picture
    that stands for the asset: a photo, a video's poster, a document's first page, a waveform."""
    made = []
    for size in sorted(settings.RENDITION_SIZES):
        data, width, height = jpeg_thumbnail(image, size)
        made.append(RenditionData(thumbnail_spec(size), data, width, height))
    return made
