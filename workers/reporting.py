"""Workers tell the database which model serves each kind, so web processes never have to load one."""

from __future__ import annotations

import socket

from assets.models import ActiveModel
from workers.ml import registry


def record_active_models(worker: str | None = None) -> dict:
    worker = worker or socket.gethostname()
    report = registry.active_models()
    for kind in registry.KINDS:
        info = report.get(kind) or {"available": False, "reason": "not configured"}
        available = bool(info.get("available", True)) and not info.get("reason")
        ActiveModel.objects.update_or_create(
            kind=kind,
            defaults={
                "available": available,
                "model_id": info.get("model_id", "") if available else "",
                "dim": info.get("dim") if available else None,
                "device": str(info.get("device", "")) if available else "",
                "dtype": str(info.get("dtype", "")) if available else "",
                "reason": "" if available else str(info.get("reason", "unavailable")),
                "worker": worker,
            },
        )
    return report
