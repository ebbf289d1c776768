"""Workers tell the database which model serves each kind, so web processes never have to load one
(and a changed model starts a switch: assets.actions.switches)."""

from __future__ import annotations

import socket

from assets.actions import switches
from assets.models import ANALYSER_PREFIX, NOT_CONFIGURED
from workers.ml import analysers, registry
from workers.ml.errors import ModelUnavailable


def record_active_models(worker: str | None = None) -> dict:
    worker = worker or socket.gethostname()
    report = registry.active_models()
    for kind in registry.KINDS:
        info = report.get(kind) or {"available": False, "reason": NOT_CONFIGURED}
        try:
            spec = registry.spec_of(kind)
        except ModelUnavailable:
            spec = {}
        switches.note_served(kind, info, spec, worker)
    for name, info in analysers.describe_enabled().items():
        switches.note_served(f"{ANALYSER_PREFIX}{name}", info, {}, worker)
    return report
