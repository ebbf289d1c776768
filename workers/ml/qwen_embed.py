"""Qwen3-Embedding text vectors: instructed queries, plain documents, last-token pooling.

Follows the model card: the tokenizer pads on the left and appends the end-of-text token
itself, the vector is the last token's hidden state, L2-normalised. Queries carry a one-line task
instruction, documents do not. The output may be cut to a smaller Matryoshka width (the model
was trained for that): keep the first ``dim`` values, then normalise again.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from workers.ml import defaults, hf_text, hub
from workers.ml.base import BaseModel, ModelUnavailable, l2_normalise


def format_query(query: str, task: str) -> str:
    return f"Instruct: {task}\nQuery:{query}"


class QwenEmbedder(BaseModel):
    kind = "text"
    cuda_dtype = torch.bfloat16
    default_batch_size = 32

    def __init__(
        self,
        source: str = defaults.TEXT_MODEL,
        *,
        dim: int = 0,
        task: str = defaults.TEXT_TASK,
        max_length: int = 512,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if dim < 0:
            raise ValueError(f"dim must be 0 (native) or positive, not {dim}")
        self.source = source
        self.requested_dim = dim
        self.task = task
        self.max_length = max_length
        self._native_dim: int | None = None
        self._model: Any = None
        self._tokenizer: Any = None

    @property
    def native_dim(self) -> int:
        if self._native_dim is None:
            self.check()
            try:
                self._native_dim = hf_text.hidden_size(self.source, local_files_only=self.local_files_only)
            except Exception as exc:
                raise ModelUnavailable(f"{self.source}: cannot read its config: {exc}") from exc
        return self._native_dim

    @property
    def dim(self) -> int:
        return self.requested_dim or self.native_dim

    @property
    def model_id(self) -> str:
        # The width is part of the name: a 256-wide cut is a different space from the full vector.
        return f"qwen3-embed:{self.source}@dim={self.dim}"

    def describe_source(self) -> str:
        return self.source

    def check(self) -> None:
        hub.check_hf_source(self.source, local_files_only=self.local_files_only)

    def _load(self) -> None:
        from transformers import AutoModel

        if self.dim > self.native_dim:
            raise ModelUnavailable(f"{self.source}: dim {self.dim} exceeds the model width {self.native_dim}")
        offline = self.local_files_only
        self._tokenizer = hf_text.load_tokenizer(self.source, local_files_only=offline)
        self._model = hf_text.load_weights(
            AutoModel, self.source, dtype=self.dtype, device=self.device, local_files_only=offline
        )

    def format_query(self, query: str, task: str | None = None) -> str:
        return format_query(query, task or self.task)

    def encode_queries(self, texts: Sequence[str], task: str | None = None) -> np.ndarray:
        return self.encode_documents([self.format_query(text, task) for text in texts])

    def encode_documents(self, texts: Sequence[str]) -> np.ndarray:
        return self._map_batches(texts, self._encode_batch)

    @torch.inference_mode()
    def _encode_batch(self, texts: Sequence[str]) -> np.ndarray:
        batch = hf_text.left_padded_batch(
            self._tokenizer, texts, max_length=self.max_length, device=self.device
        )
        hidden = self._model(**batch, use_cache=False).last_hidden_state
        return l2_normalise(hidden[:, -1, : self.dim])
