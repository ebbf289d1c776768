"""Deterministic interleavings on real database connections: each Session runs code on a thread of
its own (so on a PostgreSQL connection of its own), a Gate holds a session at a chosen point inside
an action's transaction, and `wait_blocked` waits until a session's backend is waiting on a lock.

    upload, purge = Session(), Session()
    gate = Gate(upload)                                  # pauses `upload` where it calls the patched function
    monkeypatch.setattr(keyword_index, "reindex", gate.wrap(keyword_index.reindex))
    pending = upload.start(lambda: actions.upload_asset(...))
    gate.wait_reached()                                  # upload is inside its transaction, holding its locks
    purging = purge.start(lambda: actions.purge(...))
    wait_blocked(purge)                                  # purge waits for a lock upload holds
    gate.open(); pending.result(); purging.result()

Use these in ``django_db(transaction=True)`` tests: the sessions commit for real.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor

from django.db import connection

TIMEOUT_S = 20


class Session:
    def __init__(self):
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="session")
        self.thread_id, self.backend_pid = self.run(lambda: (threading.get_ident(), _backend_pid()))

    def start(self, call) -> Future:
        return self._pool.submit(call)

    def run(self, call, timeout: float = TIMEOUT_S):
        return self.start(call).result(timeout=timeout)

    def close(self) -> None:
        self.run(lambda: connection.close())
        self._pool.shutdown(wait=True)


def _backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


class Gate:
    """Holds `session` the first time it calls a wrapped function, until `open()`; other threads pass."""

    def __init__(self, session: Session, *, before: bool = True):
        self.session = session
        self.before = before  # hold before the wrapped call (else right after it)
        self.reached = threading.Event()
        self.opened = threading.Event()

    def wrap(self, function):
        def gated(*args, **kwargs):
            mine = threading.get_ident() == self.session.thread_id and not self.reached.is_set()
            if mine and self.before:
                self._hold()
            result = function(*args, **kwargs)
            if mine and not self.before:
                self._hold()
            return result

        return gated

    def _hold(self) -> None:
        self.reached.set()
        if not self.opened.wait(TIMEOUT_S):
            raise TimeoutError("the gate was never opened")

    def wait_reached(self) -> None:
        if not self.reached.wait(TIMEOUT_S):
            raise AssertionError("the session never reached the gate")

    def open(self) -> None:
        self.opened.set()


def wait_blocked(session: Session, timeout: float = TIMEOUT_S) -> str:
    """Wait until `session`'s backend waits on a lock; returns the wait event (e.g. 'transactionid')."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute("SELECT wait_event_type, wait_event FROM pg_stat_activity WHERE pid = %s",
                           [session.backend_pid])
            row = cursor.fetchone()
        if row and row[0] == "Lock":
            return row[1]
        time.sleep(0.02)
    raise AssertionError("the session never waited on a lock")
