"""Search's query-time inference served by the realtime worker's own lane functions, in the test
process (no broker): the same model choice, encodings and answers as workers.realtime gives."""

from __future__ import annotations

import base64

from search.service import Encoder
from workers import realtime
from workers.client import InferenceUnavailable, QueryVector, RerankScores


class LaneEncoder(Encoder):
    """Query vectors from the realtime worker's lane functions, in this process (no broker)."""

    @staticmethod
    def _vector(answer: dict) -> QueryVector:
        if not answer["ok"]:
            raise InferenceUnavailable(answer["reason"])
        return QueryVector(answer["model_id"], answer["vector"])

    def text(self, query, kind):
        return self._vector(realtime._encode_texts(kind, [[query]])[0])

    def image(self, data, kind="image"):
        return self._vector(realtime._encode_images(kind, [[base64.b64encode(data).decode()]])[0])

    def rerank(self, query, documents, instruction, pictures=None):
        answer = realtime._rerank([[query, documents, instruction, pictures]])[0]
        if not answer["ok"]:
            raise InferenceUnavailable(answer["reason"])
        return RerankScores(answer["model_id"], answer["scores"])
