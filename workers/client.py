"""What web code calls for query-time inference. Imports no torch: it only sends tasks and waits.

Every call raises InferenceUnavailable (with a short reason search can show as a degraded
signal) on timeout, missing worker or unavailable model.
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass

from celery.exceptions import TimeoutError as CeleryTimeout
from django.conf import settings

from assets.imaging import jpeg_thumbnail, open_upright
from mediavault.celery import app

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


def _call(task: str, args: list, timeout: float | None) -> dict:
    timeout = settings.REALTIME_TIMEOUT_S if timeout is None else timeout
    try:
        # expires: a query nobody answered in time must not be computed later for nobody.
        result = app.send_task(task, args=args, queue=settings.REALTIME_QUEUE, expires=timeout + 5)
    except Exception as exc:  # broker (or result store) unreachable: fail fast, search degrades
        raise InferenceUnavailable(f"broker unavailable ({type(exc).__name__})") from None
    try:
        answer = result.get(timeout=timeout, propagate=True, disable_sync_subtasks=False)
    except CeleryTimeout:
        result.forget()
        raise InferenceUnavailable("worker timeout") from None
    except Exception as exc:  # a crash inside the task is still just "this signal is missing"
        raise InferenceUnavailable(f"worker error: {type(exc).__name__}") from None
    if not answer.get("ok"):
        raise InferenceUnavailable(answer.get("reason", "model unavailable"))
    return answer


def encode_query_text(text: str, kind: str = "text", timeout: float | None = None) -> QueryVector:
    answer = _call("workers.realtime.encode_text", [text, kind], timeout)
    return QueryVector(answer["model_id"], answer["vector"])


def _shrink(data: bytes) -> bytes:
    # Models see 224-448 px; sending a 12-MP original through the broker would only cost time.
    image = open_upright(io.BytesIO(data), QUERY_IMAGE_MAX_SIDE)
    return jpeg_thumbnail(image, QUERY_IMAGE_MAX_SIDE, quality=90)[0]


def encode_query_image(data: bytes, timeout: float | None = None) -> QueryVector:
    payload = base64.b64encode(_shrink(data)).decode()
    answer = _call("workers.realtime.encode_image", [payload], timeout)
    return QueryVector(answer["model_id"], answer["vector"])


def rerank(
    query: str, documents: list[str], instruction: str | None = None, timeout: float | None = None
) -> RerankScores:
    answer = _call("workers.realtime.rerank", [query, documents, instruction], timeout)
    return RerankScores(answer["model_id"], answer["scores"])


def active_models(timeout: float = 2.0) -> dict:
    return _call("workers.realtime.models", [], timeout)["models"]
