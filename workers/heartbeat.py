"""Workers say they are alive by writing a short-lived key to the broker every few seconds.

Pages that ask "which workers serve which queue" (/healthz, /status/, the admin system page)
read these keys: one round trip, a millisecond, instead of a broadcast that must wait out its
whole timeout for replies it cannot count.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
import time

from mediavault.celery import app

log = logging.getLogger(__name__)

PREFIX = "mediavault:worker:"
EVERY_S = 5.0
TTL_S = 15  # three missed beats and the worker counts as gone


def _client(conn):
    return conn.default_channel.client


def beat(hostname: str, queues: list[str], pid: int | None = None) -> None:
    record = {"hostname": hostname, "queues": sorted(queues), "pid": pid or os.getpid(), "at": time.time()}
    with app.connection_for_write() as conn:
        _client(conn).set(PREFIX + hostname, json.dumps(record), ex=TTL_S)


def forget(hostname: str) -> None:
    with app.connection_for_write() as conn:
        _client(conn).delete(PREFIX + hostname)


def _read_beats() -> list:
    with app.connection_for_read() as conn:
        client = _client(conn)
        keys = sorted(client.scan_iter(match=PREFIX + "*", count=100))
        return client.mget(keys) if keys else []


def alive() -> dict[str, dict]:
    """{hostname: {"queues": [...], "pid": ..., "at": unix time}} of the workers that beat lately."""
    import redis

    try:
        values = _read_beats()
    except redis.ConnectionError:
        # A pooled connection from before a broker restart fails once; a fresh one answers.
        values = _read_beats()
    found = {}
    for value in values:
        if value:
            record = json.loads(value)
            found[record["hostname"]] = record
    return found


class Beater:
    """The thread a worker's main process runs: a beat every EVERY_S until stopped."""

    def __init__(self, hostname: str, queues: list[str]):
        self.hostname, self.queues = hostname, queues
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, name="heartbeat", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def _run(self) -> None:
        while not self.stopped.is_set():
            try:
                beat(self.hostname, self.queues)
            except Exception as exc:  # the broker is away: the next beat will say we are back
                log.debug("heartbeat failed: %s", exc)
            self.stopped.wait(EVERY_S)

    def stop(self) -> None:
        self.stopped.set()
        with contextlib.suppress(Exception):
            forget(self.hostname)
