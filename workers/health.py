"""GET /healthz: 200 when the database, the broker and a worker for every queue are up, else 503.

Cheap enough to poll (one query, one broker round trip: workers' heartbeats, not a broadcast
that waits for replies). Anonymous callers, load balancers among them, get the verdict only;
staff also get the details (errors, workers and their queues, models, where services live).
"""

from django.http import JsonResponse
from django.views.decorators.cache import never_cache

from assets.models import ActiveModel
from workers.status import check_database, live_workers, queue_names


def _is_staff(user) -> bool:
    return bool(user.is_authenticated and user.is_active and (user.is_staff or user.is_superuser))


@never_cache
def healthz(request):
    database = check_database()
    workers, broker_error = live_workers()
    served = {queue: sorted(name for name, queues in workers.items() if queue in queues) for queue in queue_names()}
    worker_ok = not broker_error and all(served.values())
    checks = {
        "database": {"ok": database["ok"]},
        "broker": {"ok": not broker_error},
        "worker": {"ok": worker_ok},
    }
    healthy = all(check["ok"] for check in checks.values())
    body = {"status": "ok" if healthy else "degraded", **checks}
    if _is_staff(request.user):
        body["database"].update({k: v for k, v in database.items() if k != "ok"})
        body["broker"].update({"error": broker_error} if broker_error else {})
        body["worker"].update(workers=workers, queues=served)
        # Models are reported, not required: the offline profile runs with some of them unavailable.
        body["models"] = active_models()
    return JsonResponse(body, status=200 if healthy else 503)


def active_models() -> dict:
    try:
        rows = list(ActiveModel.objects.all())
    except Exception:
        return {}
    return {
        row.kind: {
            "available": row.available,
            "model_id": row.model_id,
            "dim": row.dim,
            "device": row.device,
            "dtype": row.dtype,
            "reason": row.reason,
            "worker": row.worker,
            "reported_at": row.updated_at.isoformat(),
        }
        for row in rows
    }
