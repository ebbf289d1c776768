"""Celery tasks. Arguments are primitives; the database row is the source of truth."""

from celery import shared_task
from celery.signals import worker_ready

from assets.processing import process_asset, sweep_stuck


@shared_task(name="workers.ingest", acks_late=True, reject_on_worker_lost=True)
def ingest(asset_id: int) -> str:
    return process_asset(asset_id)


@shared_task(name="workers.sweep")
def sweep() -> int:
    return len(sweep_stuck())


@worker_ready.connect
def _sweep_on_start(sender=None, **kwargs) -> None:
    # A worker that starts after a crash picks up what the crash left behind.
    sweep.delay()
