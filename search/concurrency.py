"""Run a search's independent SQL statements (BM25, each ANN) at the same time.

Each statement is single-threaded inside PostgreSQL, so a hybrid query that runs them one after
the other pays their sum; on separate connections it pays roughly the slowest one.

Only outside a transaction: a statement on another connection cannot see rows the caller's open
transaction has written (tests run inside one; so would a view under ATOMIC_REQUESTS). There
they run here, one after the other, with the same results.

The threads are long-lived so their connections are too (CONN_MAX_AGE, health-checked before
each job); a thread per request would pay a PostgreSQL backend start-up per statement.
"""

from __future__ import annotations

import atexit
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

from django.conf import settings
from django.db import close_old_connections, connection, connections

_pool: tuple[ThreadPoolExecutor, int] | None = None  # the pool and its thread count
_pool_lock = threading.Lock()


def _executor() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            threads = settings.SEARCH_SQL_THREADS
            _pool = (ThreadPoolExecutor(max_workers=threads, thread_name_prefix="search-sql"), threads)
            atexit.register(_pool[0].shutdown, wait=False, cancel_futures=True)
        return _pool[0]


def close_connections() -> None:
    """Close the connections the pool's threads hold (before a database is dropped, at exit)."""
    global _pool
    with _pool_lock:
        current, _pool = _pool, None
    if current is None:
        return
    pool, threads = current
    # One job per thread, held at a barrier until every thread has one.
    barrier = threading.Barrier(threads)

    def close_mine() -> None:
        barrier.wait(timeout=30)
        connections.close_all()

    for future in [pool.submit(close_mine) for _ in range(threads)]:
        future.result()
    pool.shutdown(wait=True)


def _on_own_connection(job: Callable[[], None]) -> None:
    close_old_connections()
    job()


class Jobs:
    """Statements started one by one, as their inputs arrive, and awaited together: a vector
    statement starts when its query vector comes back from a worker, so no database thread is
    held while inference runs. Where running side by side is not safe, each job runs at once."""

    def __init__(self):
        self.parallel = settings.SEARCH_SQL_THREADS >= 2 and not connection.in_atomic_block
        self.futures: list[Future] = []

    def submit(self, job: Callable[[], None]) -> None:
        if self.parallel:
            self.futures.append(_executor().submit(_on_own_connection, job))
        else:
            job()

    def wait(self) -> None:
        """Exceptions propagate (the first one's)."""
        for future in self.futures:
            future.result()


def run_all(jobs: list[Callable[[], None]]) -> None:
    """Call every job, concurrently where that is safe; exceptions propagate (first one wins)."""
    if len(jobs) < 2:
        for job in jobs:
            job()
        return
    batch = Jobs()
    for job in jobs:
        batch.submit(job)
    batch.wait()
