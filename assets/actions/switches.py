"""Model switches: moving a vector kind to a newly configured model without a moment of empty search.

When the workers report a model for a kind that differs from the one search serves, and the
served model has vectors, a switch starts: every ready asset is queued for the new model's vectors
(the embed step computes only what is missing), while search and the realtime worker go on with
the previous model (``ActiveModel.serving_model_id``, built from the spec kept in the switch).
`advance` finishes a switch once the new vectors cover every asset that should have one, and only
then are the previous model's vectors and index dropped, if nothing else serves them. An
administrator may finish early (search moves now, on what there is) or abandon (search stays on the
previous model until the configuration names it again; the new vectors go).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.db import connection, transaction
from django.utils import timezone
from psycopg import sql

from assets.actions import audit
from assets.actions.pipeline import EMBEDDABLE, request_embedding
from assets.models import (
    OPEN_SWITCH_STATES,
    ActiveModel,
    Asset,
    Embedding,
    EmbeddingKind,
    MediaType,
    ModelSwitch,
    SwitchState,
)
from assets.vector_index import index_name

log = logging.getLogger(__name__)

VECTOR_KINDS = frozenset(EmbeddingKind.values)
PICTURE_KINDS = frozenset({EmbeddingKind.IMAGE, EmbeddingKind.MULTIMODAL})
RATE_WINDOW = timedelta(minutes=10)
GRACE = timedelta(seconds=30)
DELETE_BATCH = 5000
REQUEST_BATCH = 2000


def note_served(kind: str, report: dict, spec: dict, worker: str) -> ModelSwitch | None:
    """A worker reports what it serves for `kind` (``registry.active_models()``'s entry, and the
    settings that build it): record it on the kind's ActiveModel row, and start, keep or end the
    kind's switch. Returns the switch that started, if one did."""
    available = bool(report.get("available", True)) and not report.get("reason")
    model_id = str(report.get("model_id", "")) if available else ""
    dropped: list[str] = []
    with transaction.atomic():
        row = ActiveModel.objects.select_for_update().filter(kind=kind).first()
        served = row.model_id if row is not None else ""  # kept while it is unavailable: still its vectors
        served_spec = row.spec if row is not None else {}
        values = {"available": available, "reason": "" if available else str(report.get("reason", "unavailable")),
                  "dim": report.get("dim") if available else None,
                  "device": str(report.get("device", "")) if available else "",
                  "dtype": str(report.get("dtype", "")) if available else "", "worker": worker}
        if available:
            values.update(model_id=model_id, spec=spec)
        ActiveModel.objects.update_or_create(kind=kind, defaults=values)
        switch = (_after_report(kind, model_id, served, served_spec, dropped)
                  if kind in VECTOR_KINDS and available else None)
    for model in dropped:
        _drop_unused(kind, model)
    if switch is not None:
        ids = list(_due(kind).order_by("pk").values_list("pk", flat=True))
        # In batches, each its own transaction and task: a million rows are never locked, nor their
        # ids sent, at once.
        for start in range(0, len(ids), REQUEST_BATCH):
            request_embedding(None, ids[start : start + REQUEST_BATCH])
        log.info("%s: switching from %s to %s; %d asset(s) queued for new vectors", kind, switch.from_model_id,
                 model_id, len(ids))
    return switch


def _after_report(kind: str, model_id: str, served: str, served_spec: dict, dropped: list[str]) -> ModelSwitch | None:
    open_switch = ModelSwitch.objects.select_for_update().filter(kind=kind, state__in=OPEN_SWITCH_STATES).first()
    if open_switch is not None:
        if open_switch.to_model_id == model_id:
            return None  # under way, or abandoned until the configuration changes
        _close(open_switch, SwitchState.ENDED, None)  # back to the previous model, or on to another
        dropped.append(open_switch.to_model_id)
        served, served_spec = open_switch.from_model_id, open_switch.from_spec
    if not model_id or not served or served == model_id:
        return None
    if not Embedding.objects.filter(kind=kind, model_id=served).exists():
        return None  # nothing to keep serving: the new model serves at once
    if not served_spec:
        log.warning("%s: %s has no recorded settings, so queries cannot keep using it; switching to %s at once",
                    kind, served, model_id)
        return None
    switch = ModelSwitch.objects.create(kind=kind, from_model_id=served, from_spec=served_spec, to_model_id=model_id)
    audit.record(None, "model.switch_started", switch, object_type="model_switch",
                 detail={"kind": kind, "from": served, "to": model_id})
    return switch


def _due(kind: str):
    """The assets that should have a vector of `kind`: alive and ready; pictures for picture kinds."""
    assets = Asset.objects.alive().filter(EMBEDDABLE)
    return assets.exclude(media_type=MediaType.AUDIO) if kind in PICTURE_KINDS else assets


@dataclass(frozen=True)
class Progress:
    done: int
    total: int
    per_second: float  # new vectors a second over the last RATE_WINDOW
    eta_seconds: float | None


def progress(switch: ModelSwitch) -> Progress:
    due = _due(switch.kind)
    total = due.count()
    done = total - due.missing_embedding(switch.kind, switch.to_model_id).count()
    since = max(switch.started_at, timezone.now() - RATE_WINDOW)
    recent = Embedding.objects.filter(kind=switch.kind, model_id=switch.to_model_id, created_at__gte=since).count()
    seconds = max(1.0, (timezone.now() - since).total_seconds())
    rate = recent / seconds
    eta = (total - done) / rate if rate > 0 and done < total else (0.0 if done >= total else None)
    return Progress(done, total, rate, eta)


def _complete(switch: ModelSwitch) -> bool:
    """No asset that should have a vector of the new model lacks one: one EXISTS that stops at the
    first such asset, cheap every few seconds on a large library (counting is for the admin)."""
    return not _due(switch.kind).missing_embedding(switch.kind, switch.to_model_id).exists()


def advance(grace: timedelta = GRACE) -> list[ModelSwitch]:
    """Finish every running switch whose new vectors cover what they should, and drop the previous
    model's vectors of switches finished at least `grace` ago; returns the switches finished now.
    The sweeper calls it every few seconds."""
    finished = [finish(None, switch.pk) for switch in ModelSwitch.objects.filter(state=SwitchState.RUNNING)
                if _complete(switch)]
    ended = ModelSwitch.objects.filter(state=SwitchState.FINISHED, cleaned_at__isnull=True,
                                       ended_at__lte=timezone.now() - grace)
    for switch in ended:
        _drop_unused(switch.kind, switch.from_model_id)
        ModelSwitch.objects.filter(pk=switch.pk).update(cleaned_at=timezone.now())
    return finished


def finish(actor, switch_id: int) -> ModelSwitch:
    """Search moves to the new model now (on the vectors there are, when an administrator finishes
    early); the previous model's vectors go a grace period later (`advance`), if nothing serves them."""
    with transaction.atomic():
        switch = ModelSwitch.objects.select_for_update().get(pk=switch_id)
        if switch.state in OPEN_SWITCH_STATES:
            _close(switch, SwitchState.FINISHED, actor)
    return switch


def abandon(actor, switch_id: int) -> ModelSwitch:
    """Search stays on the previous model (until the configuration names it again); the new
    model's vectors go."""
    with transaction.atomic():
        switch = ModelSwitch.objects.select_for_update().get(pk=switch_id)
        if switch.state != SwitchState.RUNNING:
            return switch
        _close(switch, SwitchState.ABANDONED, actor)
    _drop_unused(switch.kind, switch.to_model_id, keep_configured=False)
    return switch


def _close(switch: ModelSwitch, state: str, actor) -> None:
    """The switch's new state, when and by whom (None: the system), and its audit entry."""
    switch.state, switch.ended_at = state, timezone.now()
    switch.ended_by = actor.get_username() if actor is not None else ""
    switch.save(update_fields=["state", "ended_at", "ended_by"])
    audit.record(actor, f"model.switch_{state}", switch, object_type="model_switch",
                 detail={"kind": switch.kind, "from": switch.from_model_id, "to": switch.to_model_id})


def _drop_unused(kind: str, model_id: str, *, keep_configured: bool = True) -> int:
    """Delete `model_id`'s vectors of `kind` and their index, unless search serves them or (with
    `keep_configured`) the workers are configured with it."""
    if ActiveModel.serving_model_id(kind) == model_id:
        return 0
    if keep_configured and ActiveModel.model_id_for(kind) == model_id:
        return 0
    deleted = 0
    while True:
        ids = list(Embedding.objects.filter(kind=kind, model_id=model_id).values_list("pk", flat=True)[:DELETE_BATCH])
        if not ids:
            break
        deleted += Embedding.objects.filter(pk__in=ids).delete()[0]  # in batches: short locks
    with connection.cursor() as cursor:
        cursor.execute(sql.SQL("DROP INDEX IF EXISTS {}").format(sql.Identifier(index_name(kind, model_id))))
    log.info("%s: dropped %d vector(s) of %s, which nothing serves", kind, deleted, model_id)
    return deleted
