"""What web code calls for query-time inference. Imports no torch: it only sends requests and waits.

Every call raises InferenceUnavailable (with a short reason search can show as a degraded
signal) on timeout, missing worker or unavailable model.
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass

from django.conf import settings

from assets.imaging import jpeg_thumbnail, open_upright
from workers import rpc

# "image": CLIP's text tower (text -> image); "multimodal": Qwen3-VL-Embedding's instructed query.
TEXT_KINDS = ("text", "image", "multimodal")
PICTURE_KINDS = ("image", "multimodal")  # the kinds that encode a query picture
# The realtime worker's lanes (workers.realtime serves them).
TEXT_LANES = {kind: f"encode-text-{kind}" for kind in TEXT_KINDS}
IMAGE_LANES = {"image": "encode-image", "multimodal": "encode-image-multimodal"}
RERANK_LANE, MODELS_LANE = "rerank", "models"
LANES = (*TEXT_LANES.values(), *IMAGE_LANES.values(), RERANK_LANE, MODELS_LANE)

QUERY_IMAGE_MAX_SIDE = 512


class InferenceUnavailable(Exception):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class QueryVector:
    model_id: str
    vector: list[float]

    @property
    def dim(self) -> int:
        return len(self.vector)


@dataclass(frozen=True)
class RerankScores:
    model_id: str
    scores: list[float]


def _call(lane: str, args: list, timeout: float | None) -> dict:
    try:
        answer = rpc.call(lane, args, settings.REALTIME_TIMEOUT_S if timeout is None else timeout)
    except rpc.Unanswered as exc:
        raise InferenceUnavailable(exc.reason) from None
    if not answer.get("ok"):
        raise InferenceUnavailable(answer.get("reason", "model unavailable"))
    return answer


def encode_query_text(text: str, kind: str = "text", timeout: float | None = None) -> QueryVector:
    if kind not in TEXT_KINDS:
        raise ValueError(f"kind must be one of {', '.join(TEXT_KINDS)}")
    answer = _call(TEXT_LANES[kind], [text], timeout)
    return QueryVector(answer["model_id"], answer["vector"])


def _shrink(data: bytes) -> bytes:
    # Models see 224-448 px; sending a 12-MP original through the broker would only cost time.
    image = open_upright(io.BytesIO(data), QUERY_IMAGE_MAX_SIDE)
    return jpeg_thumbnail(image, QUERY_IMAGE_MAX_SIDE, quality=90)[0]


def encode_query_image(data: bytes, timeout: float | None = None, kind: str = "image") -> QueryVector:
    if kind not in PICTURE_KINDS:
        raise ValueError(f"kind must be one of {', '.join(PICTURE_KINDS)}")
    payload = base64.b64encode(_shrink(data)).decode()
    answer = _call(IMAGE_LANES[kind], [payload], timeout)
    return QueryVector(answer["model_id"], answer["vector"])


def rerank(
    query: str, documents: list[str], instruction: str | None = None, timeout: float | None = None,
    pictures: list[int | None] | None = None,
) -> RerankScores:
    """`pictures`: per document, the blob id of its picture (a rendition) for a reranker that reads
    pictures; the realtime worker opens them itself, so no image travels through the broker."""
    answer = _call(RERANK_LANE, [query, documents, instruction, pictures], timeout)
    return RerankScores(answer["model_id"], answer["scores"])


def active_models(timeout: float = 2.0) -> dict:
    return _call(MODELS_LANE, [], timeout)["models"]
