"""Celery tasks. Arguments are primitives; the database row is the source of truth.

A task claims what it works on through ``assets.actions.pipeline`` and reports with the claim,
so a duplicate delivery, a redelivery after a crash or a late result never overwrites newer state.
"""

import logging

from celery import shared_task
from celery.signals import worker_init, worker_process_init, worker_ready, worker_shutdown

from assets.actions import blobs, deletion, pipeline
from assets.processing import process_asset
from workers import process

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
        process.report_models(self.request.hostname)
    if report.skipped:
        log.info("embedding steps skipped: %s", report.skipped)
    return {
        "claimed": report.claimed,
        "image_vectors": report.image_vectors,
        "text_vectors": report.text_vectors,
        "failed": len(report.failed),
        "discarded": report.discarded,
        "skipped": report.skipped,
    }


@shared_task(name="workers.analyse", acks_late=True, reject_on_worker_lost=True)
def analyse(asset_ids: list[int] | None = None) -> dict:
    from workers.analysis import analyse_pending

    report = analyse_pending(asset_ids)
    if report.skipped:
        log.info("analysers skipped: %s", report.skipped)
    return {"claimed": report.claimed, "findings": report.findings, "errors": report.errors,
            "discarded": report.discarded, "skipped": report.skipped}


@shared_task(name="workers.sweep", bind=True)
def sweep(self) -> dict:
    from assets.actions import switches

    process.report_models(self.request.hostname)
    finished = switches.advance()
    return {**{name: len(ids) for name, ids in pipeline.sweep().items()}, "switches_finished": len(finished)}


@shared_task(name="workers.purge_trash")
def purge_trash() -> int:
    return len(deletion.purge_expired())


@shared_task(name="workers.remove_orphans")
def remove_orphans() -> dict:
    return blobs.remove_orphans()


_beater = None


@worker_init.connect
def _prepare_in_process_worker(sender=None, **kwargs) -> None:
    # The solo and threads pools run tasks in the worker process itself: no pool process will get
    # worker_process_init.
    if getattr(getattr(sender, "pool_cls", None), "__module__", "").endswith((".solo", ".thread")):
        _prepare_process()


@worker_process_init.connect
def _prepare_process(**kwargs) -> None:
    process.prepare()


@worker_ready.connect
def _on_worker_ready(sender=None, **kwargs) -> None:
    global _beater
    from workers.heartbeat import Beater

    hostname = getattr(sender, "hostname", None) or "worker"
    queues = sorted(q.name for q in sender.app.amqp.queues.consume_from.values()) if sender is not None else []
    _beater = Beater(hostname, queues)
    _beater.start()
    process.report_models(hostname)
    if "ingest" in queues:
        # A worker that starts after a crash picks up what the crash left behind.
        sweep.delay()


@worker_shutdown.connect
def _on_worker_shutdown(**kwargs) -> None:
    if _beater is not None:
        _beater.stop()
