"""GET /healthz: database, broker, worker and model status as JSON; 200 only when all services are well."""

from django.http import JsonResponse
from django.views.decorators.cache import never_cache

from assets.models import ActiveModel
from workers.status import check_broker, check_database, inspect_workers

# Anyone may call /healthz: it says whether services work, never where they are.
PRIVATE_KEYS = ("where",)


def _public(check: dict) -> dict:
    return {key: value for key, value in check.items() if key not in PRIVATE_KEYS}


def _check_workers() -> dict:
    workers, error = inspect_workers()
    if error:
        return {"ok": False, "error": error, "workers": {}}
    return {"ok": bool(workers), "workers": workers}


@never_cache
def healthz(request):
    checks = {"database": _public(check_database()), "broker": _public(check_broker())}
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
