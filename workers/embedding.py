"""The embed step: claim pending assets in batches, compute vectors, report them with the claim.

Vectors are written (beside their model id) by ``assets.actions.pipeline.finish_embedding``, and
only for the assets still held under the claim: an asset edited while its vectors were being
computed keeps its new pending state, and gets vectors of its new text next round.

Decoding runs on a thread pool one chunk ahead of the model, so CPU decode and model compute
overlap (Pillow and torch both release the GIL).
"""

from __future__ import annotations

import hashlib
import logging
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

from django.conf import settings

from assets import leases
from assets.actions import pipeline
from assets.models import Asset, Embedding, EmbeddingKind, MediaType
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
    vectors: list[pipeline.Vector] = field(default_factory=list)
    failed: dict[int, str] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)  # kind -> why (model unavailable)
    discarded: int = 0  # assets edited while embedded: their result was dropped
    timings: dict[str, float] = field(default_factory=dict)

    def add(self, other: BatchReport) -> None:
        self.claimed += other.claimed
        self.image_vectors += other.image_vectors
        self.text_vectors += other.text_vectors
        self.failed.update(other.failed)
        self.skipped.update(other.skipped)
        self.discarded += other.discarded


def _available(kind: str, report: BatchReport):
    try:
        return registry.get_model(kind)
    except ModelUnavailable as exc:
        # An unavailable model is a skipped step, not a failed asset.
        report.skipped[kind] = exc.reason
        return None


def _models(kind: str, report: BatchReport) -> list:
    """The models whose vectors of `kind` to compute: the configured one and, while a model switch
    away from it is open, the previous one too (search still serves it, so an upload or an edit
    during the switch is found by meaning at once, not only after it)."""
    from assets.models import ModelSwitch

    models = [model] if (model := _available(kind, report)) is not None else []
    switch = ModelSwitch.serving_switch(kind)
    if switch is not None and all(m.model_id != switch.from_model_id for m in models):
        try:
            models.append(registry.model_from_spec(kind, switch.from_model_id, switch.from_spec))
        except ModelUnavailable as exc:
            log.warning("%s: the previous model search still serves cannot be loaded here: %s", kind, exc.reason)
    return models


def _vectors(kind: str, model, rows, report: BatchReport) -> None:
    if rows:
        # Schema, not asset state: a model's first vectors bring its HNSW index.
        ensure_hnsw_index(kind, model.model_id, model.dim)
    report.vectors += [pipeline.Vector(a.pk, kind, model.model_id, vector, source) for a, vector, source in rows]


def _embed_text(model, assets: list[Asset], report: BatchReport, force: bool) -> None:
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
    _vectors(EmbeddingKind.TEXT, model, [(a, v, text_hash(t)) for (a, t), v in zip(todo, vectors, strict=True)], report)
    report.text_vectors += len(todo)


def _decode(model, blobs: list) -> list:
    """The preprocessed pictures of one asset (as the model's `preprocess` makes them): one for a
    photo or a document, a video's keyframes (whose vectors are averaged: `_pooled`). Runs on a
    decoding thread: the blobs were found on the caller's (no query here)."""
    if not blobs:
        raise ValueError("no picture: ingest made no thumbnail")
    pictures = []
    for blob in blobs:
        with blob.open() as handle:
            pictures.append(model.preprocess(load_image_for_model(handle, model.image_size)))
    return pictures


def _picture_blobs(asset: Asset) -> list:
    if asset.media_type == MediaType.VIDEO:
        from workers.analysis import keyframes

        renditions = {r.spec: r for r in asset.renditions.select_related("blob").filter(spec__startswith="frame")}
        frames = [rendition.blob for _, rendition, _ in keyframes(asset, renditions)]
        if frames:
            return frames
    blob = asset.picture_blob()
    return [blob] if blob is not None else []


def _pooled(vectors, counts: list[int]) -> list:
    """One vector per asset: a video's keyframe vectors averaged and normalised again (mean pooling,
    the usual clip-level baseline for CLIP retrieval), so "a dog on a beach" finds a clip whose dog
    is in any of its frames; a photo's own vector unchanged."""
    import numpy as np

    pooled, start = [], 0
    for count in counts:
        part = vectors[start : start + count]
        start += count
        if count == 1:
            pooled.append(part[0])
            continue
        mean = part.mean(axis=0)
        pooled.append(mean / max(float(np.linalg.norm(mean)), 1e-12))
    return pooled


def _embed_images(kind: str, model, assets: list[Asset], report: BatchReport, pool: ThreadPoolExecutor,
                  force: bool) -> None:
    """Picture vectors of a picture kind: CLIP's (``image``) or the multimodal model's."""
    model.load()
    have = set(
        Embedding.objects.filter(asset__in=assets, kind=kind, model_id=model.model_id).values_list(
            "asset_id", flat=True
        )
    )
    # A sound has no picture: its vectors are text vectors only.
    todo = [a for a in assets if (force or a.pk not in have) and a.media_type != MediaType.AUDIO]
    size = settings.EMBED_BATCH_SIZE
    chunks = [todo[i : i + size] for i in range(0, len(todo), size)]
    decode_s = encode_s = 0.0

    def submit(chunk: list[Asset]) -> list[tuple[Asset, Future]]:
        return [(asset, pool.submit(_decode, model, _picture_blobs(asset))) for asset in chunk]

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
        batch = model.collate([picture for pictures in pixels for picture in pictures])
        if kind == EmbeddingKind.IMAGE:
            # One worker chunk is one forward pass (CLIP's own default chunking is smaller; the
            # multimodal model keeps its batches of similar size).
            model.batch_size = max(model.batch_size, len(batch))
        vectors = _pooled(model.encode_preprocessed(batch), [len(p) for p in pixels])
        encode_s += time.perf_counter() - started
        _vectors(kind, model, [(a, v, "") for a, v in zip(ready, vectors, strict=True)], report)
        report.image_vectors += len(ready)
    prefix = "image" if kind == EmbeddingKind.IMAGE else kind
    report.timings.update({f"{prefix}_decode_wait_s": decode_s, f"{prefix}_encode_s": encode_s})


ALL_KINDS = (EmbeddingKind.IMAGE, EmbeddingKind.TEXT, EmbeddingKind.MULTIMODAL)


def compute(assets: list[Asset], pool: ThreadPoolExecutor, kinds=ALL_KINDS, force: bool = False) -> BatchReport:
    """Missing/stale vectors (all of them with force) for these assets; nothing is written."""
    report = BatchReport(claimed=len(assets))
    steps = {
        EmbeddingKind.IMAGE: lambda model: _embed_images(EmbeddingKind.IMAGE, model, assets, report, pool, force),
        EmbeddingKind.MULTIMODAL: lambda model: _embed_images(EmbeddingKind.MULTIMODAL, model, assets, report, pool,
                                                              force),
        EmbeddingKind.TEXT: lambda model: _embed_text(model, assets, report, force),
    }
    for kind in kinds:
        try:
            for model in _models(kind, report):
                steps[kind](model)
        except Exception as exc:  # a model crash fails this batch readably; nothing stays claimed
            log.exception("embedding batch failed")
            for asset in assets:
                report.failed.setdefault(asset.pk, f"embedding failed: {type(exc).__name__}: {exc}"[:1000])
    return report


def embed_claimed(claim: pipeline.Claim, pool: ThreadPoolExecutor, kinds=ALL_KINDS, force: bool = False) -> BatchReport:
    """Compute the vectors of a claim while keeping its lease, then report them through the claim."""
    with leases.kept(pipeline.EMBEDDING, claim.token):
        report = compute(claim.assets, pool, kinds, force)
    kept = pipeline.finish_embedding(claim, report.vectors, report.failed, report.skipped)
    report.discarded = len(set(claim.ids) - set(kept))
    return report


def embed_now(asset_ids: list[int], kinds=ALL_KINDS, force: bool = False) -> BatchReport:
    """Embed these ready assets in this process, whatever their embedding state (reembed, search_eval,
    tests): claimed like a worker claims them, so assets a worker holds right now are left to it."""
    total = BatchReport()
    per_claim = settings.EMBED_BATCH_SIZE * settings.EMBED_BATCHES_PER_CLAIM
    with ThreadPoolExecutor(max_workers=settings.EMBED_DECODE_THREADS) as pool:
        for start in range(0, len(asset_ids), per_claim):
            batch = list(asset_ids[start : start + per_claim])
            claim = pipeline.claim_embedding(len(batch), batch, include_done=True)
            if claim is not None:
                total.add(embed_claimed(claim, pool, kinds, force))
    return total


def embed_pending(asset_ids: list[int] | None = None, max_batches: int = 20) -> BatchReport:
    """Worker entry point: claim and embed batches until nothing is pending (bounded per call)."""
    total = BatchReport()
    # Claim several model batches at once so decoding the next batch overlaps encoding this one.
    per_claim = settings.EMBED_BATCH_SIZE * settings.EMBED_BATCHES_PER_CLAIM
    with ThreadPoolExecutor(max_workers=settings.EMBED_DECODE_THREADS) as pool:
        for _ in range(max_batches):
            claim = pipeline.claim_embedding(per_claim, asset_ids)
            if claim is None:
                break
            total.add(embed_claimed(claim, pool))
    return total
