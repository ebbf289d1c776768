"""Query-time inference on the realtime queue: small, fast tasks the web waits on with a timeout.

Each task answers {"ok": True, ...} or {"ok": False, "reason": ...}: an unavailable model is an
answer (search names it as a degraded signal), not an exception to trace.
"""

from __future__ import annotations

import base64
import io

from celery import shared_task

from workers.ml import registry
from workers.ml.errors import ModelUnavailable


def _unavailable(exc: ModelUnavailable) -> dict:
    return {"ok": False, "reason": f"model unavailable: {exc.reason}"}


def _vector_answer(model, vector) -> dict:
    return {"ok": True, "model_id": model.model_id, "dim": int(len(vector)), "vector": [float(x) for x in vector]}


@shared_task(name="workers.realtime.encode_text")
def encode_text(text: str, kind: str = "text") -> dict:
    """kind "text": the text model's query encoding; kind "image": CLIP's text tower (text -> image)."""
    try:
        model = registry.get_model(kind)
        vector = model.encode_queries([text])[0] if kind == "text" else model.encode_texts([text])[0]
    except ModelUnavailable as exc:
        return _unavailable(exc)
    return _vector_answer(model, vector)


@shared_task(name="workers.realtime.encode_image")
def encode_image(image_b64: str) -> dict:
    from workers.ml.images import load_image_for_model

    try:
        model = registry.get_model("image")
        image = load_image_for_model(io.BytesIO(base64.b64decode(image_b64)), model.image_size)
        vector = model.encode_images([image])[0]
    except ModelUnavailable as exc:
        return _unavailable(exc)
    return _vector_answer(model, vector)


@shared_task(name="workers.realtime.rerank")
def rerank(query: str, documents: list[str], instruction: str | None = None) -> dict:
    try:
        model = registry.get_model("rerank")
        scores = model.score(query, documents, instruction=instruction)
    except ModelUnavailable as exc:
        return _unavailable(exc)
    return {"ok": True, "model_id": model.model_id, "scores": [float(s) for s in scores]}


@shared_task(name="workers.realtime.models")
def models() -> dict:
    return {"ok": True, "models": registry.active_models()}
