"""Query-time inference on the realtime queue: small, fast tasks the web waits on with a timeout.

Each task answers {"ok": True, ...} or {"ok": False, "reason": ...}: an unavailable model is an
answer (search names it as a degraded signal), not an exception to trace.
"""

from __future__ import annotations

import base64
import functools
import io
from collections.abc import Sequence
from typing import Any

from celery import shared_task

from workers.batching import Batcher
from workers.ml import registry
from workers.ml.errors import ModelUnavailable

# Concurrent queries share a forward pass (workers.batching); the worker runs its tasks in threads.
MAX_BATCH = 16


def _unavailable(exc: ModelUnavailable) -> dict:
    return {"ok": False, "reason": f"model unavailable: {exc.reason}"}


def _vector_answer(model, vector) -> dict:
    return {"ok": True, "model_id": model.model_id, "dim": int(len(vector)), "vector": [float(x) for x in vector]}


def _encode_texts(kind: str, texts: Sequence[str]) -> list[tuple[Any, Any]]:
    """(model, vector) per text: the model too, since a registry reset may change it between batches."""
    model = registry.get_model(kind)
    vectors = model.encode_queries(texts) if kind == "text" else model.encode_texts(texts)
    return [(model, vector) for vector in vectors]


def _encode_images(images: Sequence[Any]) -> list[tuple[Any, Any]]:
    model = registry.get_model("image")
    return [(model, vector) for vector in model.encode_images(images)]


def _rerank(requests: Sequence[tuple[str, list[str], str | None]]) -> list[tuple[Any, Any]]:
    model = registry.get_model("rerank")
    return [(model, model.score(query, documents, instruction=instruction))
            for query, documents, instruction in requests]


# One thread per model runs it; concurrent requests share its forward passes. A rerank is a batch
# of documents already, so reranks go one at a time (the model is large; two at once would only
# contend for memory bandwidth).
_text_batchers = {
    kind: Batcher(functools.partial(_encode_texts, kind), max_batch=MAX_BATCH, name=f"encode-{kind}-text")
    for kind in ("text", "image")
}
_image_batcher = Batcher(_encode_images, max_batch=MAX_BATCH, name="encode-image")
_rerank_batcher = Batcher(_rerank, max_batch=1, name="rerank")


@shared_task(name="workers.realtime.encode_text")
def encode_text(text: str, kind: str = "text") -> dict:
    """kind "text": the text model's query encoding; kind "image": CLIP's text tower (text -> image)."""
    if kind not in _text_batchers:
        return {"ok": False, "reason": f"unknown kind {kind!r}"}
    try:
        model, vector = _text_batchers[kind].submit(text)
    except ModelUnavailable as exc:
        return _unavailable(exc)
    return _vector_answer(model, vector)


@shared_task(name="workers.realtime.encode_image")
def encode_image(image_b64: str) -> dict:
    from workers.ml.images import load_image_for_model

    try:
        # Decoded here, so a broken image fails its own task and not the batch it would join.
        size = registry.get_model("image").image_size
        model, vector = _image_batcher.submit(load_image_for_model(io.BytesIO(base64.b64decode(image_b64)), size))
    except ModelUnavailable as exc:
        return _unavailable(exc)
    return _vector_answer(model, vector)


@shared_task(name="workers.realtime.rerank")
def rerank(query: str, documents: list[str], instruction: str | None = None) -> dict:
    try:
        model, scores = _rerank_batcher.submit((query, documents, instruction))
    except ModelUnavailable as exc:
        return _unavailable(exc)
    return {"ok": True, "model_id": model.model_id, "scores": [float(s) for s in scores]}


@shared_task(name="workers.realtime.models")
def models() -> dict:
    return {"ok": True, "models": registry.active_models()}
