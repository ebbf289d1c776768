"""The embed step: claim pending assets in batches, compute vectors, store them beside their model id.

Decoding runs on a thread pool one chunk ahead of the model, so CPU decode and model compute
overlap (Pillow and torch both release the GIL).
"""

from __future__ import annotations

import hashlib
import logging
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from assets.models import Asset, Embedding, EmbeddingKind, EmbeddingStatus, Status
from assets.vector_index import ensure_hnsw_index
from workers.ml import registry
from workers.ml.errors import ModelUnavailable
from workers.ml.images import load_image_for_model

log = logging.getLogger(__name__)


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass
class BatchReport:
    claimed: int = 0
    image_vectors: int = 0
    text_vectors: int = 0
    failed: dict[int, str] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)  # kind -> why (model unavailable)
    timings: dict[str, float] = field(default_factory=dict)


def claim(limit: int, asset_ids: list[int] | None = None) -> list[Asset]:
    """Take up to `limit` pending assets; rows another worker is claiming are skipped, never shared."""
    with transaction.atomic():
        pending = Asset.objects.select_for_update(skip_locked=True).filter(
            status=Status.READY, embedding_status=EmbeddingStatus.PENDING
        )
        if asset_ids is not None:
            pending = pending.filter(pk__in=asset_ids)
        assets = list(pending.order_by("pk")[:limit])
        Asset.objects.filter(pk__in=[a.pk for a in assets]).update(
            embedding_status=EmbeddingStatus.EMBEDDING, embedding_changed_at=timezone.now()
        )
    return assets


def _available(kind: str, report: BatchReport):
    try:
        return registry.get_model(kind)
    except ModelUnavailable as exc:
        # An unavailable model is a skipped step, not a failed asset.
        report.skipped[kind] = exc.reason
        return None


def _store(kind: str, model, rows: list[tuple[Asset, np.ndarray, str]]) -> None:
    if not rows:
        return
    ensure_hnsw_index(kind, model.model_id, model.dim)
    Embedding.objects.bulk_create(
        [
            Embedding(asset=asset, kind=kind, model_id=model.model_id, dim=len(vector), vector=vector,
                      source_hash=source)
            for asset, vector, source in rows
        ],
        update_conflicts=True,
        unique_fields=["asset", "kind", "model_id"],
        update_fields=["vector", "dim", "source_hash", "created_at"],
    )


def _embed_text(assets: list[Asset], report: BatchReport, force: bool) -> None:
    model = _available(EmbeddingKind.TEXT, report)
    if model is None:
        return
    current = dict(
        Embedding.objects.filter(asset__in=assets, kind=EmbeddingKind.TEXT, model_id=model.model_id).values_list(
            "asset_id", "source_hash"
        )
    )
    todo = [(a, a.document_text()) for a in assets if a.pk not in report.failed]
    todo = [(a, text) for a, text in todo if force or current.get(a.pk) != text_hash(text)]
    if not todo:
        return
    started = time.perf_counter()
    vectors = model.encode_documents([text for _, text in todo])
    report.timings["text_encode_s"] = time.perf_counter() - started
    _store(EmbeddingKind.TEXT, model, [(a, v, text_hash(t)) for (a, t), v in zip(todo, vectors, strict=True)])
    report.text_vectors += len(todo)


def _decode(model, asset: Asset):
    with asset.file.open("rb") as handle:
        image = load_image_for_model(handle, model.image_size)
    return model.preprocess(image)


def _embed_images(assets: list[Asset], report: BatchReport, pool: ThreadPoolExecutor, force: bool) -> None:
    model = _available(EmbeddingKind.IMAGE, report)
    if model is None:
        return
    model.load()
    have = set(
        Embedding.objects.filter(asset__in=assets, kind=EmbeddingKind.IMAGE, model_id=model.model_id).values_list(
            "asset_id", flat=True
        )
    )
    todo = [a for a in assets if force or a.pk not in have]
    size = settings.EMBED_BATCH_SIZE
    chunks = [todo[i : i + size] for i in range(0, len(todo), size)]
    decode_s = encode_s = 0.0

    def submit(chunk: list[Asset]) -> list[tuple[Asset, Future]]:
        return [(asset, pool.submit(_decode, model, asset)) for asset in chunk]

    ahead = submit(chunks[0]) if chunks else []
    for index in range(len(chunks)):
        current, ahead = ahead, (submit(chunks[index + 1]) if index + 1 < len(chunks) else [])
        waited = time.perf_counter()
        ready, pixels = [], []
        for asset, future in current:
            try:
                pixels.append(future.result())
                ready.append(asset)
            except Exception as exc:  # one unreadable file fails that asset only
                report.failed[asset.pk] = f"image embedding failed: {type(exc).__name__}: {exc}"[:1000]
        decode_s += time.perf_counter() - waited
        if not ready:
            continue
        started = time.perf_counter()
        import torch  # workers only; the web never reaches this module

        # One worker chunk is one forward pass (the model's own default chunking is smaller).
        model.batch_size = max(model.batch_size, len(pixels))
        vectors = model.encode_preprocessed(torch.stack(pixels))
        encode_s += time.perf_counter() - started
        _store(EmbeddingKind.IMAGE, model, [(a, v, "") for a, v in zip(ready, vectors, strict=True)])
        report.image_vectors += len(ready)
    report.timings.update(image_decode_wait_s=decode_s, image_encode_s=encode_s)


ALL_KINDS = (EmbeddingKind.IMAGE, EmbeddingKind.TEXT)


def embed_assets(
    assets: list[Asset], pool: ThreadPoolExecutor | None = None, kinds=ALL_KINDS, force: bool = False
) -> BatchReport:
    """Compute missing/stale vectors (all of them with force) for these assets and record the outcome."""
    report = BatchReport(claimed=len(assets))
    own_pool = pool is None
    pool = pool or ThreadPoolExecutor(max_workers=settings.EMBED_DECODE_THREADS)
    try:
        steps = {
            EmbeddingKind.IMAGE: lambda: _embed_images(assets, report, pool, force),
            EmbeddingKind.TEXT: lambda: _embed_text(assets, report, force),
        }
        for kind in kinds:
            try:
                steps[kind]()
            except Exception as exc:  # a model crash fails this batch readably; nothing stays claimed
                log.exception("embedding batch failed")
                for asset in assets:
                    report.failed.setdefault(asset.pk, f"embedding failed: {type(exc).__name__}: {exc}"[:1000])
    finally:
        if own_pool:
            pool.shutdown(wait=True)
    now = timezone.now()
    ok = [a.pk for a in assets if a.pk not in report.failed]
    Asset.objects.filter(pk__in=ok).update(
        embedding_status=EmbeddingStatus.READY, embedding_error="", embedding_changed_at=now
    )
    for asset_id, error in report.failed.items():
        Asset.objects.filter(pk=asset_id).update(
            embedding_status=EmbeddingStatus.FAILED, embedding_error=error, embedding_changed_at=now
        )
    return report


def embed_pending(asset_ids: list[int] | None = None, max_batches: int = 20) -> BatchReport:
    """Worker entry point: claim and embed batches until nothing is pending (bounded per call)."""
    total = BatchReport()
    # Claim several model batches at once so decoding the next batch overlaps encoding this one.
    per_claim = settings.EMBED_BATCH_SIZE * settings.EMBED_BATCHES_PER_CLAIM
    with ThreadPoolExecutor(max_workers=settings.EMBED_DECODE_THREADS) as pool:
        for _ in range(max_batches):
            assets = claim(per_claim, asset_ids)
            if not assets:
                break
            report = embed_assets(assets, pool)
            total.claimed += report.claimed
            total.image_vectors += report.image_vectors
            total.text_vectors += report.text_vectors
            total.failed.update(report.failed)
            total.skipped.update(report.skipped)
    return total
