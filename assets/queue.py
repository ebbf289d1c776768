"""Enqueueing by task name, so web code never imports the workers (or torch) to send work.

Messages carry primitive arguments only and are sent once the transaction that made the work
commits. A message can be lost (broker down, a worker killed while holding it); the database
row is the truth and the sweeper sends again what has waited too long.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator

from django.db import transaction

from mediavault.celery import app

log = logging.getLogger(__name__)

INGEST_TASK = "workers.ingest"
EMBED_TASK = "workers.embed"
ANALYSE_TASK = "workers.analyse"
INGEST_QUEUE = "ingest"
EMBED_QUEUE = "embed"
ANALYSE_QUEUE = "analyse"


_local = threading.local()


@contextlib.contextmanager
def held() -> Iterator[None]:
    """Send nothing from this thread meanwhile. For tools that run the pipeline in their own
    process on a database of their own (search_eval --ingest): a worker of the live install
    must never receive ids that mean other assets in its database."""
    _local.held = True
    try:
        yield
    finally:
        _local.held = False


def _send(task: str, **options) -> None:
    if getattr(_local, "held", False):
        return
    try:
        # ignore_result: nobody waits for these; subscribing to a result would also make a send
        # with the broker down wait for the result store's reconnection retries.
        app.send_task(task, ignore_result=True, **options)
    except Exception as exc:  # the broker is down: the asset waits in the database for the sweeper
        log.warning("could not enqueue %s (%s); the sweeper will send it again", task, exc)


def enqueue_ingest(asset_id: int) -> None:
    _send(INGEST_TASK, args=[asset_id])


def enqueue_embed(asset_ids: list[int] | None = None) -> None:
    _send(EMBED_TASK, kwargs={"asset_ids": asset_ids})


def enqueue_analyse(asset_ids: list[int] | None = None) -> None:
    _send(ANALYSE_TASK, kwargs={"asset_ids": asset_ids})


def analyse_on_commit(asset_ids: list[int] | None = None) -> None:
    ids = None if asset_ids is None else list(asset_ids)
    transaction.on_commit(lambda: enqueue_analyse(ids))


def ingest_on_commit(asset_ids: list[int]) -> None:
    ids = list(asset_ids)
    transaction.on_commit(lambda: [enqueue_ingest(pk) for pk in ids])


def embed_on_commit(asset_ids: list[int] | None = None) -> None:
    ids = None if asset_ids is None else list(asset_ids)
    transaction.on_commit(lambda: enqueue_embed(ids))


def depth(queue: str) -> int | None:
    """Messages waiting in a queue (LLEN of its Redis list), or None when the broker cannot say."""
    try:
        with app.connection_for_read() as conn:
            return int(conn.default_channel.client.llen(queue))
    except Exception:
        return None
