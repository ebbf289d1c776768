"""What the system is doing: services, workers, queues, models and asset counts.

One snapshot feeds three readers: the portal's /status/ page, the admin system page and
/healthz. Each probe answers instead of raising, so a page about an outage still renders.
"""

from __future__ import annotations

from django.conf import settings
from django.db import connection
from django.db.models import Count
from kombu.utils.url import maybe_sanitize_url

from assets.actions import switches
from assets.models import ANALYSER_PREFIX, OPEN_SWITCH_STATES, ActiveModel, Asset, ModelSwitch
from mediavault.celery import app
from workers import heartbeat, rpc
from workers.client import LANES


def queue_names() -> tuple[str, ...]:
    # The realtime queue's name is configurable (tests point it at a queue nobody listens on).
    return ("ingest", "analyse", "embed", settings.REALTIME_QUEUE)


def check_database() -> dict:
    embedded = settings.DATABASE_EMBEDDED
    db = settings.DATABASES["default"]
    where = f"{db.get('HOST') or 'localhost'}{':' + str(db['PORT']) if db.get('PORT') else ''}/{db.get('NAME')}"
    info = {"ok": False, "embedded": embedded, "where": where}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
            row = cursor.fetchone()
        return {**info, "ok": True, "pgvector": row[0] if row else None}
    except Exception as exc:  # any failure is a status answer, not a crash
        return {**info, "error": str(exc)}


def check_broker() -> dict:
    info = {"ok": False, "embedded": settings.BROKER_EMBEDDED, "where": maybe_sanitize_url(app.conf.broker_url)}
    try:
        with app.connection_for_write() as conn:
            # One try: an unreachable external broker must not hold the page for kombu's default retries.
            conn.ensure_connection(max_retries=1, timeout=2)
        return {**info, "ok": True}
    except Exception as exc:
        return {**info, "error": str(exc)}


def live_workers() -> tuple[dict[str, list[str]], str]:
    """({worker: [queue, ...]}, error): the workers whose heartbeat is recent, and their queues."""
    try:
        return {name: record["queues"] for name, record in heartbeat.alive().items()}, ""
    except Exception as exc:
        return {}, str(exc)


def workers_by_queue(workers: dict[str, list[str]]) -> dict[str, list[str]]:
    by_queue: dict[str, list[str]] = {queue: [] for queue in queue_names()}
    for worker, queues in workers.items():
        for queue in queues:
            by_queue.setdefault(queue, []).append(worker)
    return by_queue


def queue_depths() -> dict[str, int | None]:
    """Messages waiting per queue (None if unreadable): LLEN of the queue's list on the Redis
    broker; for the realtime queue, of its lanes' lists (workers.rpc)."""
    try:
        with app.connection_for_read() as conn:
            client = conn.default_channel.client
            return {
                queue: sum(int(client.llen(rpc.lane_key(lane))) for lane in LANES)
                if queue == settings.REALTIME_QUEUE else int(client.llen(queue))
                for queue in queue_names()
            }
    except Exception:
        return {queue: None for queue in queue_names()}


def _counts(field: str) -> dict[str, int]:
    return dict(Asset.objects.values_list(field).annotate(n=Count("pk")).order_by(field))


def snapshot() -> dict:
    database, broker = check_database(), check_broker()
    if broker["ok"]:
        workers, workers_error = live_workers()
        depths = queue_depths()
    else:
        # Asking a broker that is down would only wait out its connection retries.
        workers, workers_error = {}, "broker unreachable"
        depths = {queue: None for queue in queue_names()}
    by_queue = workers_by_queue(workers)
    return {
        "services": {"database": database, "broker": broker},
        "workers": workers,
        "workers_error": workers_error,
        "queues": [{"name": q, "workers": sorted(by_queue[q]), "depth": depths[q]} for q in queue_names()],
        # The vector and rerank models first, then the analysers.
        "models": sorted(ActiveModel.objects.all(), key=lambda row: (row.kind.startswith(ANALYSER_PREFIX), row.kind)),
        "switches": [{"switch": switch, "progress": switches.progress(switch)}
                     for switch in ModelSwitch.objects.filter(state__in=OPEN_SWITCH_STATES)],
        "assets_by_status": _counts("status"),
        "assets_by_embedding": _counts("embedding_status"),
        "database": "embedded PostgreSQL" if database["embedded"] else "external PostgreSQL",
        "broker": "embedded Redis" if broker["embedded"] else "external Redis",
    }
