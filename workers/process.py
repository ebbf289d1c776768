"""What every worker process does before serving: its torch threads, its warm models, and telling
the database which models it serves."""

from __future__ import annotations

import contextlib
import logging

from workers.ml import registry
from workers.ml.errors import ModelUnavailable

log = logging.getLogger(__name__)


def prepare() -> None:
    from django.conf import settings

    if settings.TORCH_THREADS:
        import torch  # workers only

        torch.set_num_threads(settings.TORCH_THREADS)
    # A query-time worker loads its models before its first query, not during it.
    for kind in settings.WARM_MODELS:
        with contextlib.suppress(ModelUnavailable):  # reported as unavailable; searches say so
            registry.get_model(kind)


def report_models(hostname: str | None = None) -> None:
    from workers.reporting import record_active_models

    try:
        record_active_models(worker=hostname)
    except Exception:  # reporting must never keep a worker from serving
        log.exception("could not record the active models")
