"""Query-time inference: the realtime worker's lanes (workers.rpc), which web code calls through
workers.client with a timeout.

Each request is answered {"ok": True, ...} or {"ok": False, "reason": ...}: an unavailable model
is an answer (search names it as a degraded signal), not an exception to trace.

On a CPU a small text model's forward pass is bound by reading its weights, not by the number of
rows (MiniLM encodes four short queries in about 1.6x the time of one), so the queries waiting on
a lane go through the model together, as Triton's and TorchServe's dynamic batchers do. A rerank
is a batch of documents already, so reranks go one at a time.
"""

from __future__ import annotations

import base64
import io
import logging
from collections.abc import Sequence

from workers.client import IMAGE_LANES, MODELS_LANE, RERANK_LANE, TEXT_LANES
from workers.ml import registry
from workers.ml.errors import ModelUnavailable
from workers.rpc import Lane

log = logging.getLogger(__name__)

MAX_BATCH = 16


def _unavailable(exc: ModelUnavailable) -> dict:
    return {"ok": False, "reason": f"model unavailable: {exc.reason}"}


def _vector_answer(model, vector) -> dict:
    return {"ok": True, "model_id": model.model_id, "dim": int(len(vector)), "vector": [float(x) for x in vector]}


def query_model(kind: str):
    """The model whose vectors search reads for `kind`: during a model switch the previous one
    (built from the settings the switch kept), else the configured one."""
    from django.db import DatabaseError, connection

    from assets.models import ModelSwitch

    try:
        switch = ModelSwitch.serving_switch(kind)
    except DatabaseError:  # a connection the database dropped: the next request opens a new one
        connection.close()
        switch = ModelSwitch.serving_switch(kind)
    if switch is None:
        return registry.get_model(kind)
    return registry.model_from_spec(kind, switch.from_model_id, switch.from_spec)


def _encode_texts(kind: str, batch: Sequence[list]) -> list[dict]:
    """[text] per request: the query encodings of the text or multimodal model (instructed queries)
    or CLIP's text tower."""
    try:
        model = query_model(kind)
    except ModelUnavailable as exc:
        return [_unavailable(exc)] * len(batch)
    texts = [str(args[0]) for args in batch]
    vectors = model.encode_texts(texts) if kind == "image" else model.encode_queries(texts)
    return [_vector_answer(model, vector) for vector in vectors]


def _encode_images(kind: str, batch: Sequence[list]) -> list[dict]:
    """[base64 JPEG] per request. Each is decoded on its own, so a broken one fails only its request."""
    from workers.ml.images import load_image_for_model

    try:
        model = query_model(kind)
    except ModelUnavailable as exc:
        return [_unavailable(exc)] * len(batch)
    answers: list[dict | None] = [None] * len(batch)
    images, places = [], []
    for i, args in enumerate(batch):
        try:
            images.append(load_image_for_model(io.BytesIO(base64.b64decode(args[0])), model.image_size))
            places.append(i)
        except Exception as exc:  # a hostile or truncated query image
            answers[i] = {"ok": False, "reason": f"unreadable image ({type(exc).__name__})"}
    for i, vector in zip(places, model.encode_images(images) if images else [], strict=True):
        answers[i] = _vector_answer(model, vector)
    return answers


def _rerank(batch: Sequence[list]) -> list[dict]:
    """[query, documents, instruction, picture blob ids or None] per request."""
    try:
        model = registry.get_model("rerank")
    except ModelUnavailable as exc:
        return [_unavailable(exc)] * len(batch)
    answers = []
    for query, documents, instruction, *rest in batch:
        if getattr(model, "reads_pictures", False):
            pictures = _pictures(rest[0] if rest else None, len(documents), model.image_size)
            scores = model.score(query, documents, instruction=instruction, pictures=pictures)
        else:
            scores = model.score(query, documents, instruction=instruction)
        answers.append({"ok": True, "model_id": model.model_id, "scores": [float(s) for s in scores]})
    return answers


def _pictures(blob_ids: list | None, count: int, side: int) -> list:
    """The candidates' pictures from their blob ids (None where a candidate has none, or its file
    cannot be read: that candidate is then judged by its text)."""
    from assets.models import Blob
    from workers.ml.images import load_image_for_model

    ids = [int(i) if isinstance(i, int) else None for i in (blob_ids or [None] * count)][:count]
    ids += [None] * (count - len(ids))
    blobs = Blob.objects.in_bulk([i for i in ids if i is not None])
    pictures = []
    for blob_id in ids:
        picture = None
        if blob_id in blobs:
            try:
                with blobs[blob_id].open() as handle:
                    picture = load_image_for_model(handle, side)
            except Exception as exc:  # a missing or broken rendition costs that candidate its picture
                log.warning("rerank: picture of blob %s unreadable (%s)", blob_id, exc)
        pictures.append(picture)
    return pictures


def _models(batch: Sequence[list]) -> list[dict]:
    return [{"ok": True, "models": registry.active_models()}] * len(batch)


def lanes() -> list[Lane]:
    return [
        *(Lane(lane, lambda batch, kind=kind: _encode_texts(kind, batch), MAX_BATCH)
          for kind, lane in TEXT_LANES.items()),
        *(Lane(lane, lambda batch, kind=kind: _encode_images(kind, batch), MAX_BATCH)
          for kind, lane in IMAGE_LANES.items()),
        Lane(RERANK_LANE, _rerank, max_batch=1),
        Lane(MODELS_LANE, _models),
    ]
