"""What every model class shares: lazy loading once under a lock, device/dtype choice, chunking.

Subclasses implement ``check()`` (a cheap availability test on files and caches, run before
any weights load), ``_load()`` (the heavy part), ``model_id`` and ``dim``. Any failure to load
surfaces as ``ModelUnavailable`` with a reason, and is remembered so later calls fail at once.
"""

from __future__ import annotations

import logging
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from typing import Any, ClassVar, TypeVar

import numpy as np
import torch

from workers.ml.devices import resolve_device, validate_device_setting
from workers.ml.errors import ModelUnavailable

__all__ = ["BaseModel", "ModelUnavailable", "chunked", "l2_normalise", "resolve_device"]

log = logging.getLogger(__name__)

T = TypeVar("T")


def chunked(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def l2_normalise(vectors: torch.Tensor) -> np.ndarray:
    # Normalise in float32: fp16/bf16 norms lose enough precision to change cosine rankings.
    return torch.nn.functional.normalize(vectors.float(), p=2, dim=-1).cpu().numpy()


class BaseModel(ABC):
    """Lifecycle shared by all models: construct cheaply, ``check()`` cheaply, ``load()`` once."""

    kind: ClassVar[str]  # registry slot: "image", "text" or "rerank"
    cuda_dtype: ClassVar[torch.dtype] = torch.float16
    default_batch_size: ClassVar[int] = 32

    def __init__(
        self, *, device: str = "auto", batch_size: int | None = None, local_files_only: bool = False
    ) -> None:
        self.device_setting = validate_device_setting(device)
        if batch_size is not None and batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, not {batch_size}")
        self.batch_size = batch_size or self.default_batch_size
        # True when the hub must not be contacted: only local paths and the local cache count.
        self.local_files_only = local_files_only
        self._lock = threading.Lock()
        self._loaded = False
        self._failure: str | None = None  # reason of a failed load, so later calls fail at once
        self._device: torch.device | None = None

    # -- identity -------------------------------------------------------------------------------
    @property
    @abstractmethod
    def model_id(self) -> str:
        """Stable name stored beside every vector; differs whenever the vector space differs."""

    @property
    @abstractmethod
    def dim(self) -> int | None:
        """Output vector size (None for models that do not produce vectors, like rerankers)."""

    @property
    def device(self) -> torch.device:
        if self._device is None:
            self._device = resolve_device(self.device_setting)
        return self._device

    @property
    def dtype(self) -> torch.dtype:
        return self.cuda_dtype if self.device.type == "cuda" else torch.float32

    @property
    def loaded(self) -> bool:
        return self._loaded

    def describe(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "model_id": self.model_id,
            "dim": self.dim,
            "device": str(self.device),
            "dtype": str(self.dtype).removeprefix("torch."),
            "loaded": self._loaded,
        }

    # -- lifecycle ------------------------------------------------------------------------------
    @abstractmethod
    def check(self) -> None:
        """Raise ModelUnavailable if loading clearly cannot work. Must be cheap: no weights, no network."""

    def verify(self) -> None:
        """The whole cheap availability test: the device exists and ``check()`` passes."""
        try:
            _ = self.device  # resolving it is the test
            self.check()
        except ModelUnavailable:
            raise
        except Exception as exc:
            raise ModelUnavailable(f"{self.describe_source()}: {type(exc).__name__}: {exc}") from exc

    @abstractmethod
    def _load(self) -> None:
        """Load weights onto ``self.device`` in ``self.dtype``; called once, under the lock."""

    def load(self) -> BaseModel:
        if self._loaded:
            return self
        with self._lock:
            if self._loaded:
                return self
            if self._failure is not None:
                raise ModelUnavailable(self._failure)
            try:
                self.verify()
                self._load()
            except ModelUnavailable as exc:
                self._failure = exc.reason
                raise
            except Exception as exc:
                self._failure = f"{self.describe_source()} could not be loaded: {type(exc).__name__}: {exc}"
                raise ModelUnavailable(self._failure) from exc
            self._loaded = True
            log.info("loaded %s on %s (%s)", self.model_id, self.device, self.dtype)
        return self

    def describe_source(self) -> str:
        """Where the weights come from, for error messages (model_id may itself need the weights)."""
        return type(self).__name__

    # -- batching -------------------------------------------------------------------------------
    def _map_batches(self, items: Sequence[T], encode: Callable[[Sequence[T]], np.ndarray]) -> np.ndarray:
        """Run ``encode`` over chunks of at most ``batch_size`` and stack the results in order."""
        self.load()
        parts = [encode(chunk) for chunk in chunked(items, self.batch_size)]
        if not parts:
            return np.zeros((0, self.dim or 0), dtype=np.float32)
        return np.concatenate(parts).astype(np.float32, copy=False)
