"""Processing stages as compare-and-set transitions: claim, renew, finish, and the sweeper.

An asset goes through ingest (metadata, thumbnails), then analysis (what the picture shows) and
embedding (vectors), side by side; an analysis that changes what search reads queues new text
vectors. A worker claims
an asset for a stage with a fresh token and a lease deadline, renews the lease while it works
(workers.leases), and reports its result with the token: the result is written only if that
token is still the claim. Anything that changes what the stage computes from (an edit of the
text, a reprocess) clears the claim, so the late result is discarded and the asset is queued
again: no edit is ever overwritten by a result computed before it.

A lost message or a killed worker never loses an asset: the sweeper takes back claims whose
lease ran out and sends again what has waited in the queue too long.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from assets import embedded, keyword_index, queue
from assets.actions import audit, blobs
from assets.models import (
    Analysis,
    AnalysisStatus,
    Asset,
    BlobStore,
    Embedding,
    EmbeddingStatus,
    Rendition,
    Status,
)

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5


@dataclass(frozen=True)
class Stage:
    """The columns of one stage on Asset."""

    name: str
    status: str
    active: str  # the status while claimed
    claim: str
    lease: str
    attempts: str
    error: str
    changed_at: str

    def reset(self) -> dict:
        """Back to pending, unclaimed: what an edit or a retry writes."""
        return {self.status: "pending", self.claim: None, self.lease: None, self.error: ""}


INGEST = Stage(
    "ingest", "status", Status.PROCESSING, "ingest_claim", "ingest_lease_until", "processing_attempts", "error",
    "status_changed_at",
)
EMBEDDING = Stage(
    "embedding", "embedding_status", EmbeddingStatus.EMBEDDING, "embedding_claim", "embedding_lease_until",
    "embedding_attempts", "embedding_error", "embedding_changed_at",
)
ANALYSIS = Stage(
    "analysis", "analysis_status", AnalysisStatus.ANALYSING, "analysis_claim", "analysis_lease_until",
    "analysis_attempts", "analysis_error", "analysis_changed_at",
)
STAGES = {stage.name: stage for stage in (INGEST, ANALYSIS, EMBEDDING)}


def lease_deadline(now: dt.datetime | None = None) -> dt.datetime:
    return (now or timezone.now()) + dt.timedelta(seconds=settings.LEASE_S)


@dataclass(frozen=True)
class Claim:
    token: uuid.UUID
    assets: list[Asset]

    @property
    def ids(self) -> list[int]:
        return [asset.pk for asset in self.assets]


# A claim skips rows that another transaction has locked, so that workers of one stage never queue
# behind each other. But the lock may be another stage's: an upload's analyse and embed messages
# arrive together and both claim its row; or an edit's. Such a row is still waiting once the lock
# goes, and its message has been spent, so it would wait for the sweeper (REQUEUE_AFTER_S). A claim
# that got nothing while rows it wants still wait tries again for a short while: those locks last
# milliseconds (a claim) or one finishing write.
CLAIM_RETRY_S = 2.0
CLAIM_RETRY_STEP_S = 0.02


def _claim(stage: Stage, queryset, limit: int) -> Claim | None:
    deadline = time.monotonic() + CLAIM_RETRY_S
    while True:
        claim = _claim_unlocked(stage, queryset, limit)
        if claim is not None or time.monotonic() >= deadline or not queryset.exists():
            return claim
        time.sleep(CLAIM_RETRY_STEP_S)


def _claim_unlocked(stage: Stage, queryset, limit: int) -> Claim | None:
    """A claim on up to `limit` of the rows nobody holds locked; None when there are none."""
    with transaction.atomic():
        # skip_locked: rows another worker is claiming are skipped, never shared or waited for. The
        # blob and the findings come along: decoding threads and document_text() read them without a
        # query (or a transaction) of their own.
        rows = list(
            queryset.select_related("blob").prefetch_related("analyses")
            .select_for_update(skip_locked=True, of=("self",)).order_by("pk")[:limit]
        )
        if not rows:
            return None
        token, now = uuid.uuid4(), timezone.now()
        values = {stage.status: stage.active, stage.claim: token, stage.lease: lease_deadline(now),
                  stage.changed_at: now}
        Asset.objects.filter(pk__in=[a.pk for a in rows]).update(**values, **{stage.attempts: F(stage.attempts) + 1})
        for asset in rows:
            for name, value in values.items():
                setattr(asset, name, value)
    return Claim(token, rows)


def renew_lease(stage: Stage, token: uuid.UUID) -> int:
    """Push the lease of every asset still held under `token` forward; 0 once the claim is lost."""
    return Asset.objects.filter(**{stage.claim: token, stage.status: stage.active}).update(
        **{stage.lease: lease_deadline()}
    )


def _held(stage: Stage, token: uuid.UUID, ids: Iterable[int] | None = None) -> list[Asset]:
    """Lock the assets still claimed under `token`, in id order; the others are no longer ours."""
    rows = Asset.objects.select_for_update(of=("self",)).filter(**{stage.claim: token, stage.status: stage.active})
    if ids is not None:
        rows = rows.filter(pk__in=list(ids))
    return list(rows.order_by("pk"))


def _release_claim(stage: Stage, status: str, error: str = "") -> dict:
    return {stage.status: status, stage.error: error[:1000], stage.claim: None, stage.lease: None,
            stage.changed_at: timezone.now()}


# --- Ingest -----------------------------------------------------------------------------------


def claim_ingest(asset_id: int) -> Claim | None:
    """Claim one pending asset for ingest; None when it is not pending (done, claimed, gone)."""
    return _claim(INGEST, Asset.objects.filter(pk=asset_id, status=Status.PENDING), 1)


@dataclass
class RenditionData:
    spec: str
    data: bytes
    width: int
    height: int
    mime_type: str = "image/jpeg"
    path: str | None = None  # a large rendition (a video's playable copy) comes as a file instead of `data`

    def stored(self, written: list):
        if self.path is None:
            return blobs.store_bytes(BlobStore.RENDITION, self.data, self.mime_type, written)
        with open(self.path, "rb") as handle:
            return blobs.store_file(BlobStore.RENDITION, handle, self.mime_type, written)


@dataclass
class IngestResult:
    fields: dict  # metadata columns (EXIF, camera, dimensions, ...)
    renditions: list[RenditionData] = field(default_factory=list)
    seconds: float = 0.0
    findings: list[Finding] = field(default_factory=list)  # what the file itself says (a PDF's text)


INGEST_FIELDS = frozenset({
    "exif", "camera_make", "camera_model", "lens", "orientation", "taken_at", "gps_latitude", "gps_longitude",
    "width", "height", "duration", "media_info",
})


def report_progress(claim: Claim, fraction: float) -> bool:
    """How far a long ingest step has got, while the claim holds; False once it is lost."""
    fraction = min(1.0, max(0.0, float(fraction)))
    return bool(Asset.objects.filter(**{INGEST.claim: claim.token, INGEST.status: INGEST.active}).update(
        ingest_progress=round(fraction, 3)))


def finish_ingest(claim: Claim, result: IngestResult) -> bool:
    """Write metadata and thumbnails if the claim still holds; False when the result was discarded.

    The file's embedded keywords and caption are offered to the tags and description here, merged into
    the row as it is now (locked), so an edit saved while the file was read is kept (assets.embedded)."""
    unknown = set(result.fields) - INGEST_FIELDS
    if unknown:
        raise ValueError(f"not ingest fields: {sorted(unknown)}")
    with blobs.new_files() as written, transaction.atomic():
        held = _held(INGEST, claim.token)
        if not held:
            return False
        asset = held[0]
        old = {r.spec: r for r in Rendition.objects.select_for_update().filter(asset=asset)}
        made = {r.spec: (r, r.stored(written)) for r in result.renditions}
        # Renditions this ingest did not make (a proxy the new settings no longer need) go too.
        replaced = [r.blob_id for spec, r in old.items() if spec not in made or r.blob_id != made[spec][1].pk]
        Rendition.objects.filter(asset=asset).exclude(spec__in=list(made)).delete()
        for spec, (data, blob) in made.items():
            Rendition.objects.update_or_create(
                asset=asset, spec=spec,
                defaults={"blob": blob, "width": data.width, "height": data.height, "mime_type": data.mime_type},
            )
        if replaced:
            blobs.release(blobs.lock(replaced))
        offered = embedded.offered_changes(asset, result.fields.get("exif", asset.exif))
        stored = {**result.fields, **offered}
        before = {name: getattr(asset, name) for name in stored}
        _store_findings(result.findings)
        values = {
            **stored,
            **_release_claim(INGEST, Status.READY),
            "ingest_progress": None,
            # New metadata and thumbnails: analyse and embed again, whatever came before.
            **ANALYSIS.reset(),
            **EMBEDDING.reset(),
            "queued_at": timezone.now(),
        }
        Asset.objects.filter(pk=asset.pk).update(**values, updated_at=timezone.now())
        keyword_index.reindex([asset.pk])  # camera make and model are indexed
        queue.analyse_on_commit([asset.pk])
        queue.embed_on_commit([asset.pk])
        audit.record(
            None, "asset.processed", asset,
            changes=audit.diff(before, {k: v for k, v in stored.items() if k != "media_info"}),
            detail={"renditions": sorted(made), "seconds": round(result.seconds, 3)},
        )
    return True


def fail_ingest(claim: Claim, error: str) -> bool:
    with transaction.atomic():
        held = _held(INGEST, claim.token)
        if not held:
            return False
        Asset.objects.filter(pk=held[0].pk).update(**_release_claim(INGEST, Status.FAILED, error))
        audit.record(None, "asset.processing_failed", held[0], detail={"error": error[:1000]})
    return True


# --- Embedding --------------------------------------------------------------------------------

EMBEDDABLE = Q(status=Status.READY)


def claim_embedding(limit: int, asset_ids: list[int] | None = None, *, include_done: bool = False) -> Claim | None:
    """Claim up to `limit` ready assets waiting for vectors (with `include_done`, also those that
    have them or failed: a forced re-embed); assets claimed by someone else are skipped."""
    return _claim_waiting(EMBEDDING, limit, asset_ids, include_done)


@dataclass(frozen=True)
class Vector:
    asset_id: int
    kind: str
    model_id: str
    vector: object  # a sequence of floats
    source_hash: str = ""


def finish_embedding(
    claim: Claim, vectors: list[Vector], failed: dict[int, str], skipped: dict[str, str] | None = None
) -> list[int]:
    """Store the vectors of the assets still held under the claim and mark them ready (or failed);
    returns the ids whose result was kept (ready or failed). Assets edited meanwhile keep their new claim-less
    pending state and their old vectors: the result computed from their old text is dropped."""
    with transaction.atomic():
        held = {asset.pk for asset in _held(EMBEDDING, claim.token)}
        if not held:
            return []
        Embedding.objects.bulk_create(
            [
                Embedding(asset_id=v.asset_id, kind=v.kind, model_id=v.model_id, dim=len(v.vector), vector=v.vector,
                          source_hash=v.source_hash)
                for v in vectors if v.asset_id in held
            ],
            update_conflicts=True,
            unique_fields=["asset", "kind", "model_id"],
            update_fields=["vector", "dim", "source_hash", "created_at"],
        )
        ok = sorted(held - set(failed))
        Asset.objects.filter(pk__in=ok).update(**_release_claim(EMBEDDING, EmbeddingStatus.READY))
        for asset_id, error in failed.items():
            if asset_id in held:
                Asset.objects.filter(pk=asset_id).update(**_release_claim(EMBEDDING, EmbeddingStatus.FAILED, error))
        counts: dict[str, int] = {}
        for v in vectors:
            if v.asset_id in held:
                counts[v.kind] = counts.get(v.kind, 0) + 1
        audit.record(
            None, "asset.embedded", asset_ids=held,
            detail={
                "vectors": counts,
                "failed": {str(pk): error for pk, error in failed.items() if pk in held},
                "skipped": skipped or {},
                "discarded": sorted(set(claim.ids) - held),
            },
        )
    return sorted(held)


# --- Analysis ---------------------------------------------------------------------------------


def claim_analysis(limit: int, asset_ids: list[int] | None = None, *, include_done: bool = False) -> Claim | None:
    """Claim up to `limit` ready assets waiting for analysis (with `include_done`, also analysed or
    failed ones: `reanalyse`)."""
    return _claim_waiting(ANALYSIS, limit, asset_ids, include_done)


def _claim_waiting(stage: Stage, limit: int, asset_ids: list[int] | None, include_done: bool) -> Claim | None:
    """A claim on ready assets waiting for `stage` (with `include_done`, also those it finished or failed)."""
    states = ["pending", "ready", "failed"] if include_done else ["pending"]
    rows = Asset.objects.filter(EMBEDDABLE, **{f"{stage.status}__in": states})
    if asset_ids is not None:
        rows = rows.filter(pk__in=asset_ids)
    return _claim(stage, rows, limit)


@dataclass(frozen=True)
class Finding:
    """One analyser's result for one asset: what search reads (`text`), the structured output, the
    model that made it; or the reason it could not (`error`: that analyser only)."""

    asset_id: int
    analyser: str
    model_id: str
    text: str = ""
    data: dict = field(default_factory=dict)
    error: str = ""
    seconds: float = 0.0


def _store_findings(findings: list[Finding]) -> dict[tuple[int, str], str]:
    """The machine's results in one upsert (the last of a repeated asset and analyser wins); a
    person's correction (``corrected_text``) stays as it was. Returns the text stored for each."""
    latest = {(f.asset_id, f.analyser): f for f in findings}
    rows = [Analysis(asset_id=f.asset_id, analyser=f.analyser, model_id=f.model_id, text=f.text[:100_000],
                     data=f.data, error=f.error[:1000], seconds=round(f.seconds, 4)) for f in latest.values()]
    Analysis.objects.bulk_create(rows, update_conflicts=True, unique_fields=["asset", "analyser"],
                                 update_fields=["model_id", "text", "data", "error", "seconds", "updated_at"])
    return {key: row.text for key, row in zip(latest, rows, strict=True)}


def finish_analysis(claim: Claim, findings: list[Finding], skipped: dict[str, str] | None = None) -> list[int]:
    """Store the findings of the assets still held under the claim, keep the keyword index in step and,
    where what search reads changed, queue new text vectors. A person's correction of a finding is
    kept (the new machine result is stored beside it). Returns the ids whose result was kept."""
    with transaction.atomic():
        held = {asset.pk for asset in _held(ANALYSIS, claim.token)}
        if not held:
            return []
        mine = [f for f in findings if f.asset_id in held]
        stored = list(Analysis.objects.select_for_update().filter(asset_id__in=held)
                      .only("asset_id", "analyser", "text", "corrected_text"))
        before = {(a.asset_id, a.analyser): a.searchable_text for a in stored}
        corrected = {(a.asset_id, a.analyser): a.corrected_text for a in stored if a.corrected_text is not None}
        after = before | {key: corrected.get(key, text) for key, text in _store_findings(mine).items()}
        changed = sorted({pk for (pk, name), text in after.items() if before.get((pk, name)) != text})
        Asset.objects.filter(pk__in=held).update(**_release_claim(ANALYSIS, AnalysisStatus.READY))
        if changed:
            keyword_index.reindex(changed)
            # Detected text and labels are part of what text vectors read.
            ready = list(Asset.objects.filter(pk__in=changed, status=Status.READY).values_list("pk", flat=True))
            Asset.objects.filter(pk__in=ready).update(**EMBEDDING.reset(), queued_at=timezone.now())
            queue.embed_on_commit(ready)
        errors = {f"{f.asset_id}:{f.analyser}": f.error for f in mine if f.error}
        audit.record(
            None, "asset.analysed", asset_ids=held,
            detail={"findings": len(mine), "changed": changed, "errors": errors, "skipped": skipped or {},
                    "discarded": sorted(set(claim.ids) - held)},
        )
    return sorted(held)


# --- Requests from people ----------------------------------------------------------------------


def reprocess(actor, asset_ids: Iterable[int]) -> list[int]:
    """Redo metadata, thumbnails and then vectors; a worker busy with one of them loses its claim."""
    with transaction.atomic():
        rows = list(Asset.objects.select_for_update().filter(pk__in=list(asset_ids)).alive().order_by("pk"))
        ids = [a.pk for a in rows]
        if not ids:
            return []
        Asset.objects.filter(pk__in=ids).update(
            **INGEST.reset(), **ANALYSIS.reset(), **EMBEDDING.reset(), processing_attempts=0, analysis_attempts=0,
            embedding_attempts=0, status_changed_at=timezone.now(), queued_at=timezone.now(),
        )
        queue.ingest_on_commit(ids)
        audit.record(actor, "asset.reprocess_requested", rows[0] if len(rows) == 1 else None, asset_ids=ids)
    return ids


def request_embedding(actor, asset_ids: Iterable[int]) -> int:
    """Queue ready assets for (re-)embedding; the embed step skips vectors that are already current."""
    return _request_stage(actor, asset_ids, EMBEDDING, queue.embed_on_commit)


def request_analysis(actor, asset_ids: Iterable[int]) -> int:
    """Queue ready assets for analysis again (after an analyser's model changed, or on request)."""
    return _request_stage(actor, asset_ids, ANALYSIS, queue.analyse_on_commit)


def _request_stage(actor, asset_ids: Iterable[int], stage: Stage, enqueue) -> int:
    """Send ready assets through one stage again: its state reset, its attempts forgotten, one audit entry."""
    with transaction.atomic():
        rows = list(Asset.objects.select_for_update().filter(EMBEDDABLE, pk__in=list(asset_ids)).order_by("pk"))
        ids = [a.pk for a in rows]
        if not ids:
            return 0
        now = timezone.now()
        Asset.objects.filter(pk__in=ids).update(
            **stage.reset(), **{stage.attempts: 0, stage.changed_at: now}, queued_at=now
        )
        enqueue(ids)
        audit.record(actor, f"asset.{stage.name}_requested", rows[0] if len(rows) == 1 else None, asset_ids=ids)
    return len(ids)


# --- The sweeper ------------------------------------------------------------------------------


def _expired(stage: Stage, now: dt.datetime, limit: int) -> tuple[list[int], list[int]]:
    """Take back claims whose lease ran out: (ids sent again, ids that used up their attempts)."""
    rows = list(
        Asset.objects.select_for_update(skip_locked=True)
        .filter(**{stage.status: stage.active, f"{stage.lease}__lt": now})
        .order_by("pk")
        .values_list("pk", stage.attempts)[:limit]
    )
    retry = [pk for pk, attempts in rows if attempts < MAX_ATTEMPTS]
    given_up = [pk for pk, attempts in rows if attempts >= MAX_ATTEMPTS]
    if retry:
        Asset.objects.filter(pk__in=retry).update(**stage.reset(), queued_at=now)
    if given_up:
        Asset.objects.filter(pk__in=given_up).update(
            **_release_claim(stage, "failed", f"gave up after {MAX_ATTEMPTS} attempts (the worker stopped each time)")
        )
    return retry, given_up


def _waiting_too_long(queryset, now: dt.datetime, queue_name: str, limit: int) -> list[int]:
    """Pending assets whose message may be lost: queued before the cut-off, more of them than the
    queue holds messages (the queue is first in, first out, so its messages are the newest ones)."""
    cutoff = now - dt.timedelta(seconds=settings.REQUEUE_AFTER_S)
    stale = queryset.filter(Q(queued_at__lt=cutoff) | Q(queued_at__isnull=True))
    waiting = queue.depth(queue_name)
    if waiting is None:
        return []  # the broker is down: sending would fail; the next sweep tries again
    count = stale.count() - waiting
    if count <= 0:
        return []
    oldest_first = stale.order_by(F("queued_at").asc(nulls_first=True), "pk")
    ids = list(oldest_first.values_list("pk", flat=True)[: min(count, limit)])
    Asset.objects.filter(pk__in=ids).update(queued_at=now)
    return ids


def _batches(ids: list[int]) -> list[list[int]]:
    size = settings.EMBED_BATCH_SIZE
    return [ids[start : start + size] for start in range(0, len(ids), size)]


def sweep(now: dt.datetime | None = None, limit: int = 1000) -> dict[str, list[int]]:
    """Recover what workers abandoned and what the broker lost; one audit entry when it did anything."""
    now = now or timezone.now()
    with transaction.atomic():
        ingest_retry, ingest_failed = _expired(INGEST, now, limit)
        analysis_retry, analysis_failed = _expired(ANALYSIS, now, limit)
        embed_retry, embed_failed = _expired(EMBEDDING, now, limit)
        ingest_lost = _waiting_too_long(
            Asset.objects.filter(status=Status.PENDING), now, queue.INGEST_QUEUE, limit
        )
        embed_lost = _waiting_too_long(
            Asset.objects.filter(EMBEDDABLE, embedding_status=EmbeddingStatus.PENDING), now, queue.EMBED_QUEUE, limit
        )
        analysis_lost = _waiting_too_long(
            Asset.objects.filter(EMBEDDABLE, analysis_status=AnalysisStatus.PENDING), now, queue.ANALYSE_QUEUE, limit
        )
        report = {
            "ingest_expired": ingest_retry, "ingest_gave_up": ingest_failed, "ingest_resent": ingest_lost,
            "analysis_expired": analysis_retry, "analysis_gave_up": analysis_failed, "analysis_resent": analysis_lost,
            "embedding_expired": embed_retry, "embedding_gave_up": embed_failed, "embedding_resent": embed_lost,
        }
        touched = {pk for ids in report.values() for pk in ids}
        if touched:
            queue.ingest_on_commit(ingest_retry + ingest_lost)
            for batch in _batches(analysis_retry + analysis_lost):
                queue.analyse_on_commit(batch)
            resend = embed_retry + embed_lost
            for batch in _batches(resend):
                queue.embed_on_commit(batch)
            audit.record(None, "assets.swept", asset_ids=touched, detail={k: len(v) for k, v in report.items() if v})
    return report
