"""Enqueueing by task name, so web code never imports the workers (or torch) to send work."""

from django.db import transaction

from mediavault.celery import app

INGEST_TASK = "workers.ingest"


def enqueue_ingest(asset_id: int) -> None:
    app.send_task(INGEST_TASK, args=[asset_id])


def enqueue_ingest_on_commit(asset_id: int) -> None:
    # Primitive arguments only, and only once the row is visible to the worker. robust: with the
    # broker down the upload still succeeds; the sweeper enqueues the pending asset later.
    transaction.on_commit(lambda: enqueue_ingest(asset_id), robust=True)

EMBED_TASK = "workers.embed"


def enqueue_embed(asset_ids: list[int] | None = None) -> None:
    app.send_task(EMBED_TASK, kwargs={"asset_ids": asset_ids})


def enqueue_embed_on_commit(asset_ids: list[int] | None = None) -> None:
    transaction.on_commit(lambda: enqueue_embed(asset_ids), robust=True)
