"""The shared model lifecycle: devices, lazy loading once under a lock, remembered failures, chunks."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
import torch

from workers.ml.base import BaseModel, chunked
from workers.ml.devices import resolve_device, validate_device_setting
from workers.ml.errors import ModelUnavailable

no_cuda = pytest.mark.skipif(torch.cuda.is_available(), reason="checks the behaviour without a GPU")


class CountingModel(BaseModel):
    """A stand-in whose load is slow and counted, to watch the lifecycle from outside."""

    kind = "text"

    def __init__(self, fail: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.fail = fail
        self.loads = 0
        self.seen_batches: list[int] = []

    @property
    def model_id(self) -> str:
        return "counting:1"

    @property
    def dim(self) -> int:
        return 2

    def check(self) -> None:
        pass

    def _load(self) -> None:
        self.loads += 1
        time.sleep(0.05)  # long enough for racing threads to pile up on the lock
        if self.fail:
            raise OSError("disk on fire")

    def encode(self, items):
        def encode_chunk(chunk):
            self.seen_batches.append(len(chunk))
            return np.array([[float(x), 1.0] for x in chunk])

        return self._map_batches(items, encode_chunk)


def test_device_settings_are_validated():
    assert validate_device_setting(" CUDA:1 ") == "cuda:1"
    for bad in ("gpu", "cuda:", "cuda:x", "mps", ""):
        with pytest.raises(ValueError):
            validate_device_setting(bad)


@no_cuda
def test_auto_device_is_cpu_without_cuda_and_cuda_request_is_unavailable():
    assert resolve_device("auto") == torch.device("cpu")
    assert resolve_device("cpu") == torch.device("cpu")
    with pytest.raises(ModelUnavailable, match="no CUDA"):
        resolve_device("cuda:0")


@no_cuda
def test_dtype_is_fp32_on_cpu():
    assert CountingModel(device="cpu").dtype == torch.float32


def test_load_runs_once_even_when_threads_race():
    model = CountingModel(device="cpu")
    threads = [threading.Thread(target=model.load) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert model.loads == 1
    assert model.loaded


def test_failed_load_becomes_unavailable_and_is_not_retried():
    model = CountingModel(fail=True, device="cpu")
    with pytest.raises(ModelUnavailable, match="disk on fire"):
        model.load()
    with pytest.raises(ModelUnavailable, match="disk on fire"):
        model.load()
    assert model.loads == 1
    assert not model.loaded


def test_describe_reports_identity_and_load_state():
    model = CountingModel(device="cpu")
    before = model.describe()
    assert before == {
        "kind": "text",
        "model_id": "counting:1",
        "dim": 2,
        "device": "cpu",
        "dtype": "float32",
        "loaded": False,
    }
    model.load()
    assert model.describe()["loaded"] is True


def test_batches_are_chunked_and_reassembled_in_order():
    model = CountingModel(device="cpu", batch_size=3)
    out = model.encode(list(range(8)))
    assert model.seen_batches == [3, 3, 2]
    assert out.dtype == np.float32
    assert out[:, 0].tolist() == list(range(8))
    assert model.encode([]).shape == (0, 2)


def test_chunked_and_batch_size_validation():
    assert [list(c) for c in chunked([1, 2, 3, 4, 5], 2)] == [[1, 2], [3, 4], [5]]
    with pytest.raises(ValueError):
        CountingModel(batch_size=0)
