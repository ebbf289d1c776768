"""What the system is doing, for the portal's status page and the admin: workers, queues, models."""

from __future__ import annotations

from django.conf import settings
from django.db.models import Count

from assets.models import ActiveModel, Asset
from mediavault.celery import app

QUEUES = ("ingest", "embed", "realtime")


def workers_by_queue(timeout: float = 1.0) -> dict[str, list[str]]:
    try:
        replies = app.control.inspect(timeout=timeout).active_queues() or {}
    except Exception:  # a broker outage shows as "no workers", the page itself still renders
        replies = {}
    by_queue: dict[str, list[str]] = {queue: [] for queue in QUEUES}
    for worker, queues in replies.items():
        for queue in queues:
            by_queue.setdefault(queue["name"], []).append(worker)
    return by_queue


def queue_depths() -> dict[str, int | None]:
    try:
        with app.connection_for_read() as conn:
            client = conn.default_channel.client
            return {queue: int(client.llen(queue)) for queue in QUEUES}
    except Exception:
        return {queue: None for queue in QUEUES}


def snapshot() -> dict:
    workers = workers_by_queue()
    depths = queue_depths()
    return {
        "queues": [
            {"name": q, "workers": sorted(workers.get(q, [])), "depth": depths.get(q)} for q in QUEUES
        ],
        "models": list(ActiveModel.objects.all()),
        "assets_by_status": dict(Asset.objects.values_list("status").annotate(n=Count("pk")).order_by()),
        "assets_by_embedding": dict(
            Asset.objects.values_list("embedding_status").annotate(n=Count("pk")).order_by()
        ),
        "database": "embedded PostgreSQL" if settings.DATABASE_EMBEDDED else "external PostgreSQL",
        "broker": "embedded Redis" if settings.BROKER_EMBEDDED else "external Redis",
    }
