"""Celery tasks. Arguments are primitives; the database row is the source of truth."""

import logging

from celery import shared_task
from celery.signals import worker_ready

from assets.processing import process_asset, sweep_stuck
from workers import realtime  # noqa: F401  (registers the realtime tasks)

log = logging.getLogger(__name__)


@shared_task(name="workers.ingest", acks_late=True, reject_on_worker_lost=True)
def ingest(asset_id: int) -> str:
    return process_asset(asset_id)


@shared_task(name="workers.embed", bind=True, acks_late=True, reject_on_worker_lost=True)
def embed(self, asset_ids: list[int] | None = None) -> dict:
    from workers.embedding import embed_pending

    report = embed_pending(asset_ids)
    if report.claimed:
        # Loaded models now know their device and dimension; tell the web side.
        _report_models(self.request.hostname)
    if report.skipped:
        log.info("embedding steps skipped: %s", report.skipped)
    return {
        "claimed": report.claimed,
        "image_vectors": report.image_vectors,
        "text_vectors": report.text_vectors,
        "failed": len(report.failed),
        "skipped": report.skipped,
    }


@shared_task(name="workers.sweep", bind=True)
def sweep(self) -> int:
    _report_models(self.request.hostname)
    return len(sweep_stuck())


def _report_models(hostname: str | None = None) -> None:
    from workers.reporting import record_active_models

    try:
        record_active_models(worker=hostname)
    except Exception:  # reporting must never keep a worker from serving
        log.exception("could not record the active models")


@worker_ready.connect
def _on_worker_ready(sender=None, **kwargs) -> None:
    _report_models(getattr(sender, "hostname", None))
    # A worker that starts after a crash picks up what the crash left behind.
    sweep.delay()
