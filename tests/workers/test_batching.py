"""Dynamic batching of query-time inference (workers/batching.py)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from workers.batching import Batcher


def _gated():
    """A run function that holds its first batch until released, recording every batch."""
    gate, started, batches = threading.Event(), threading.Event(), []

    def run(items):
        batches.append(list(items))
        started.set()
        gate.wait(timeout=10)
        return [item * 10 for item in items]

    return run, gate, started, batches


def test_requests_arriving_while_busy_share_the_next_batch():
    run, gate, started, batches = _gated()
    batcher = Batcher(run, max_batch=4)
    with ThreadPoolExecutor(max_workers=8) as pool:
        first = pool.submit(batcher.submit, 0)
        assert started.wait(5)  # the model is busy with item 0 alone: no waiting for company
        rest = [pool.submit(batcher.submit, i) for i in range(1, 7)]
        while batcher._waiting.qsize() < 6:
            threading.Event().wait(0.01)
        gate.set()
        assert first.result(5) == 0
        assert sorted(f.result(5) for f in rest) == [10, 20, 30, 40, 50, 60]
    assert batches[0] == [0]
    assert [len(b) for b in batches[1:]] == [4, 2]  # everything waiting, at most max_batch at a time
    assert batcher.seen == 7


def test_a_failed_batch_fails_each_of_its_requests_and_the_next_batch_runs():
    calls = []

    def run(items):
        calls.append(list(items))
        if "bad" in items:
            raise ValueError("model exploded")
        return [item.upper() for item in items]

    batcher = Batcher(run)
    with pytest.raises(ValueError, match="model exploded"):
        batcher.submit("bad")
    assert batcher.submit("good") == "GOOD"


def test_a_wrong_number_of_results_is_an_error_not_a_mix_up():
    batcher = Batcher(lambda items: ["only one"] * (len(items) + 1))
    with pytest.raises(RuntimeError, match="2 results for 1 items"):
        batcher.submit("x")


def test_a_request_that_timed_out_is_not_run():
    run, gate, started, batches = _gated()
    batcher = Batcher(run)
    with ThreadPoolExecutor(max_workers=2) as pool:
        busy = pool.submit(batcher.submit, 1)
        assert started.wait(5)
        with pytest.raises(TimeoutError):
            batcher.submit(2, timeout=0.05)  # waits behind the busy batch, gives up
        gate.set()
        assert busy.result(5) == 10
        assert batcher.submit(3, timeout=5) == 30
    assert [2] not in batches and all(2 not in b for b in batches)


def test_max_batch_must_be_positive():
    with pytest.raises(ValueError):
        Batcher(lambda items: items, max_batch=0)
