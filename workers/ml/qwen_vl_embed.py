"""Qwen3-VL-Embedding vectors (2B: 2,048 wide, 8B: 4,096): pictures and texts in one space, for
the ``"multimodal"`` kind.

As the model's published usage runs it (vLLM's pooling runner over the chat format): a system
turn with the instruction (queries: ``MEDIAVAULT_MULTIMODAL_TASK``; pictures and documents: the
model's default "Represent the user's input."), a user turn of the picture and/or the text, the
assistant's turn opened; the vector is the last layer's hidden state at that last token (the
processor pads on the left, so it is position -1 in every row), L2-normalised. A narrower width
keeps the first ``dim`` values and normalises again (Matryoshka); pgvector's HNSW indexes take
halfvec up to 4,000 dimensions, so wider models are cut to that unless a width is set.

Pictures are held to ``MEDIAVAULT_VL_MAX_PIXELS`` (workers.ml.qwen_vl) and encoded in batches of
similar size.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from PIL import Image

from workers.ml import defaults, hub, qwen_vl
from workers.ml.base import BaseModel, ModelUnavailable, l2_normalise

MAX_INDEXED_DIM = 4000  # pgvector: HNSW over halfvec


class QwenVLEmbedder(BaseModel):
    kind = "multimodal"
    cuda_dtype = torch.bfloat16
    default_batch_size = 8

    def __init__(self, source: str, *, dim: int = 0, task: str = defaults.MULTIMODAL_TASK,
                 max_pixels: int = defaults.VL_MAX_PIXELS, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if dim < 0:
            raise ValueError(f"dim must be 0 (native) or positive, not {dim}")
        self.source, self.requested_dim, self.task, self.max_pixels = source, dim, task, max_pixels
        self.max_text_tokens = 512  # of a query or document text
        self._native_dim: int | None = None
        self._processor: Any = None
        self._model: Any = None

    @property
    def native_dim(self) -> int:
        if self._native_dim is None:
            self.check()
            try:
                from transformers import AutoConfig

                config = AutoConfig.from_pretrained(self.source, local_files_only=self.local_files_only)
                self._native_dim = int(getattr(config, "text_config", config).hidden_size)
            except Exception as exc:
                raise ModelUnavailable(f"{self.source}: cannot read its config: {exc}") from exc
        return self._native_dim

    @property
    def dim(self) -> int:
        return self.requested_dim or min(self.native_dim, MAX_INDEXED_DIM)

    @property
    def model_id(self) -> str:
        return f"qwen3-vl-embed:{self.source}@dim={self.dim}"

    @property
    def image_size(self) -> int:
        return qwen_vl.decode_side(self.max_pixels)

    def describe_source(self) -> str:
        return self.source

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "max_pixels": self.max_pixels}

    def check(self) -> None:
        hub.check_hf_source(self.source, local_files_only=self.local_files_only)

    def _load(self) -> None:
        if self.dim > self.native_dim:
            raise ModelUnavailable(f"{self.source}: dim {self.dim} exceeds the model width {self.native_dim}")
        self._processor, self._model = qwen_vl.load(self.source, device=self.device, dtype=self.dtype,
                                                    local_files_only=self.local_files_only, model_class="AutoModel")

    # -- what the embedding worker and the realtime lanes call -----------------------------------
    def preprocess(self, image: Image.Image) -> Image.Image:
        return qwen_vl.bounded(image, self.max_pixels)

    @staticmethod
    def collate(pictures: list) -> list:
        return list(pictures)

    def encode_preprocessed(self, pictures: list) -> np.ndarray:
        return self.encode_images(pictures)

    def encode_images(self, images: Sequence[Image.Image]) -> np.ndarray:
        self.load()
        pictures = [self.preprocess(image) for image in images]
        vectors = np.zeros((len(pictures), self.dim), dtype=np.float32)
        order = qwen_vl.by_size(list(range(len(pictures))), lambda i: pictures[i].width * pictures[i].height,
                                self.batch_size)
        for batch in order:
            vectors[batch] = self._encode([pictures[i] for i in batch], [""] * len(batch),
                                          defaults.MULTIMODAL_DOCUMENT_TASK)
        return vectors

    def encode_queries(self, texts: Sequence[str], task: str | None = None) -> np.ndarray:
        return self._texts(texts, task or self.task)

    def encode_texts(self, texts: Sequence[str]) -> np.ndarray:
        return self.encode_queries(texts)

    def encode_documents(self, texts: Sequence[str]) -> np.ndarray:
        return self._texts(texts, defaults.MULTIMODAL_DOCUMENT_TASK)

    def _texts(self, texts: Sequence[str], task: str) -> np.ndarray:
        self.load()
        return self._map_batches(list(texts), lambda chunk: self._encode(None, list(chunk), task))

    def prompt(self, text: str, *, picture: bool, task: str) -> str:
        """The chat the model reads for one input (the picture's place marked; the processor
        expands it to the picture's tokens); the vector is read at its last token."""
        tokenizer = self._processor.tokenizer
        turns = qwen_vl.user_turn(qwen_vl.clipped(tokenizer, text, self.max_text_tokens), picture=picture,
                                  system=task)
        return self._processor.apply_chat_template(turns, tokenize=False, add_generation_prompt=True)

    @torch.inference_mode()
    def _encode(self, pictures: list | None, texts: list[str], task: str) -> np.ndarray:
        chats = [self.prompt(text, picture=pictures is not None, task=task) for text in texts]
        inputs = qwen_vl.inputs(self._processor, chats, pictures or [], self.max_pixels, self.device)
        hidden = self._model(**inputs, use_cache=False).last_hidden_state
        return l2_normalise(hidden[:, -1, : self.dim])

