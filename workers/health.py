"""GET /healthz: database, broker, worker and model status as JSON; 200 only when all services are well."""

from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache

from assets.models import ActiveModel
from mediavault.celery import app


def _check_database() -> dict:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
            row = cursor.fetchone()
        return {"ok": True, "embedded": settings.DATABASE_EMBEDDED, "pgvector": row[0] if row else None}
    except Exception as exc:  # any failure is a health answer, not a crash
        return {"ok": False, "error": str(exc)}


def _check_broker() -> dict:
    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return {"ok": True, "embedded": settings.BROKER_EMBEDDED}
    except Exception as exc:
        return {"ok": False, "error": str(exc)}


def _check_workers() -> dict:
    try:
        replies = app.control.inspect(timeout=1.0).active_queues() or {}
    except Exception as exc:
        return {"ok": False, "error": str(exc), "workers": {}}
    workers = {name: sorted(q["name"] for q in queues) for name, queues in replies.items()}
    return {"ok": bool(workers), "workers": workers}


@never_cache
def healthz(request):
    checks = {"database": _check_database(), "broker": _check_broker()}
    checks["worker"] = _check_workers() if checks["broker"]["ok"] else {"ok": False, "error": "broker down"}
    healthy = all(check["ok"] for check in checks.values())
    # Models are reported, not required: the offline profile runs with some of them unavailable.
    body = {"status": "ok" if healthy else "degraded", **checks, "models": active_models()}
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
