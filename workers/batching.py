"""Dynamic batching of query-time inference: the queries that arrive while the model is busy go
through it together in the next forward pass.

On a CPU a small text model's forward pass is bound by reading its weights, not by the number of
rows: MiniLM encodes four short queries in about 1.6x the time of one. Under concurrent searches a
realtime worker that encodes one query per task spends most of its time re-reading the same
weights while the other queries wait in line. Here the worker's task threads hand their texts to
one thread per model, which takes everything waiting as one batch (as Triton's and TorchServe's
dynamic batchers do). There is no collection window: an idle model starts on a lone query at once,
so a quiet system pays nothing for this.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import Generic, TypeVar

In = TypeVar("In")
Out = TypeVar("Out")


class Batcher(Generic[In, Out]):
    """Calls ``run(items) -> results`` (one result per item, in order) from one thread of its own."""

    def __init__(self, run: Callable[[Sequence[In]], Sequence[Out]], max_batch: int = 16, name: str = "batcher"):
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        self._run, self.max_batch, self._name = run, max_batch, name
        self._waiting: queue.SimpleQueue[tuple[In, Future]] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self.seen = 0  # items run in all

    def submit(self, item: In, timeout: float | None = None) -> Out:
        """The result for ``item``; the batch's exception if its run failed. Waits up to ``timeout``."""
        future: Future = Future()
        self._ensure_thread()
        self._waiting.put((item, future))
        try:
            return future.result(timeout=timeout)
        except TimeoutError:
            future.cancel()  # not started yet: the batch that takes it skips it
            raise

    def _ensure_thread(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        with self._start_lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name=self._name, daemon=True)
                self._thread.start()

    def _take(self) -> list[tuple[In, Future]]:
        batch = [self._waiting.get()]  # block for the first; the rest only if already waiting
        while len(batch) < self.max_batch:
            try:
                batch.append(self._waiting.get_nowait())
            except queue.Empty:
                break
        return batch

    def _loop(self) -> None:
        while True:
            batch = [(item, future) for item, future in self._take() if future.set_running_or_notify_cancel()]
            if not batch:
                continue
            self.seen += len(batch)
            try:
                results = list(self._run([item for item, _ in batch]))
                if len(results) != len(batch):
                    raise RuntimeError(f"{self._name}: {len(results)} results for {len(batch)} items")
            except BaseException as exc:  # every waiter hears it; the thread lives on for the next batch
                for _, future in batch:
                    future.set_exception(exc)
                continue
            for (_, future), result in zip(batch, results, strict=True):
                future.set_result(result)
