"""Assets whose processing failed, and retrying them: what the admin system page lists and its buttons do."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Case, F, Q, When

from assets import actions
from assets.models import Asset, EmbeddingStatus, Status

FAILED = Q(status=Status.FAILED) | Q(embedding_status=EmbeddingStatus.FAILED)


@dataclass(frozen=True)
class Failure:
    asset: Asset
    stage: str  # "ingest" or "embedding": which step failed, and so what a retry redoes
    error: str
    failed_at: datetime | None


def failure_of(asset: Asset) -> Failure | None:
    # A failed ingest comes first: reprocessing it also recomputes the vectors.
    if asset.status == Status.FAILED:
        return Failure(asset, "ingest", asset.error, asset.status_changed_at)
    if asset.embedding_status == EmbeddingStatus.FAILED:
        return Failure(asset, "embedding", asset.embedding_error, asset.embedding_changed_at)
    return None


def latest_failures(limit: int = 20) -> tuple[list[Failure], int]:
    """The `limit` most recent failures, newest first, and how many failed assets there are in all."""
    failed = Asset.objects.alive().filter(FAILED)
    # Each stage stamps its own column (embedding failures are written with update(), so not updated_at).
    failed_at = Case(When(status=Status.FAILED, then=F("status_changed_at")), default=F("embedding_changed_at"))
    rows = failed.select_related("owner").order_by(failed_at.desc(nulls_last=True), "-pk")[:limit]
    failures = [f for f in map(failure_of, rows) if f is not None]
    return failures, failed.count()


def retry(actor, asset: Asset) -> Failure | None:
    """Retry the failed step of one asset; None when it is not failed (any more)."""
    failure = failure_of(asset)
    if failure is None:
        return None
    if failure.stage == "ingest":
        actions.reprocess(actor, [asset.pk])
    else:
        actions.request_embedding(actor, [asset.pk])
    return failure


def retry_all(actor) -> dict[str, int]:
    """Retry every failed asset; counts per stage."""
    ingest_failed = list(Asset.objects.alive().filter(status=Status.FAILED).values_list("pk", flat=True))
    reprocessed = actions.reprocess(actor, ingest_failed) if ingest_failed else []
    embedding_failed = list(
        Asset.objects.alive().filter(embedding_status=EmbeddingStatus.FAILED, status=Status.READY)
        .values_list("pk", flat=True)
    )
    embedded = actions.request_embedding(actor, embedding_failed) if embedding_failed else 0
    return {"ingest": len(reprocessed), "embedding": embedded}
