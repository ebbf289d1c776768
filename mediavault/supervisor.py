"""Keeping `make run`'s processes alive: restart what dies (with backoff, logged), stop all on request.

Every child gets PR_SET_PDEATHSIG, so even if the supervisor itself is killed with SIGKILL the
kernel stops its children: no orphan worker or second scheduler survives a crash.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import logging
import os
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger("mediavault.supervisor")

PR_SET_PDEATHSIG = 1
BACKOFF_START_S = 1.0
BACKOFF_MAX_S = 30.0
# A child that ran this long before dying is restarted at once: it was not crash-looping.
HEALTHY_AFTER_S = 60.0


def die_with_parent() -> None:
    """Ask the kernel to send this process SIGTERM when its parent dies (Linux; elsewhere a no-op).
    Children call it between fork and exec."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


class AlreadyRunning(Exception):
    pass


def hold_instance_lock(path: Path):
    """Take the lock that makes this the only `make run` of an installation; returns the open file
    (the lock lasts while it is open: the kernel drops it when this process ends, however it ends).

    A second runner on the same directory would start a second set of workers and a second
    scheduler beside the first's, and its web server would fail to bind."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(path, "a+")  # noqa: SIM115 (held for the life of the process)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "unknown"
        handle.close()
        raise AlreadyRunning(f"MediaVault is already running from {path.parent} (process {holder}); "
                             "stop that one first (Ctrl-C where it runs)") from None
    handle.seek(0)
    handle.truncate()
    handle.write(str(os.getpid()))
    handle.flush()
    return handle


@dataclass
class Child:
    name: str
    command: list[str]
    stop_signal: int = signal.SIGTERM
    env: dict[str, str] | None = None
    ready: Callable[[subprocess.Popen], None] | None = None  # waits until the child serves, or raises
    nice: int = 0  # how far below the default scheduling priority (what others wait on runs first)
    process: subprocess.Popen | None = None
    started_at: float = 0.0
    restarts: int = 0
    backoff: float = BACKOFF_START_S
    next_start: float = 0.0
    history: list[str] = field(default_factory=list)

    def start(self) -> None:
        self.process = subprocess.Popen(self.command, env=self.env, preexec_fn=self._in_child)
        self.started_at = time.monotonic()
        if self.ready is not None:
            self.ready(self.process)

    def _in_child(self) -> None:  # between fork and exec
        die_with_parent()
        if self.nice:
            os.nice(self.nice)

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None


class Supervisor:
    def __init__(self, children: list[Child], watch: list[tuple[str, Callable[[], bool], Callable[[], None]]] = ()):
        self.children = children
        # (name, is it up?, start it): services that are not our children (the embedded PostgreSQL).
        self.watch = list(watch)
        self.stopping = False

    def start(self) -> None:
        for child in self.children:
            child.start()

    def request_stop(self, *_args) -> None:
        self.stopping = True

    def check(self) -> None:
        """One round: restart dead children whose backoff has passed."""
        now = time.monotonic()
        for child in self.children:
            if child.running or self.stopping:
                continue
            if child.process is not None and child.next_start == 0.0:
                code = child.process.returncode
                ran = now - child.started_at
                if ran > HEALTHY_AFTER_S:
                    delay, child.backoff = 0.0, BACKOFF_START_S
                else:
                    delay, child.backoff = child.backoff, min(child.backoff * 2, BACKOFF_MAX_S)
                child.next_start = now + delay
                message = f"{child.name} exited with {code} after {ran:.0f}s; restarting in {delay:.0f}s"
                log.warning(message)
                print(message, flush=True)
            if now >= child.next_start:
                child.restarts += 1
                child.next_start = 0.0
                try:
                    child.start()
                    log.warning("%s restarted (restart %d)", child.name, child.restarts)
                    print(f"{child.name} restarted (restart {child.restarts})", flush=True)
                except Exception as exc:  # it failed to come up: back off and try again
                    log.error("%s could not be restarted: %s", child.name, exc)
                    child.next_start = time.monotonic() + child.backoff
        for name, is_up, start in self.watch:
            if not self.stopping and not is_up():
                print(f"{name} is down; starting it again", flush=True)
                try:
                    start()
                except Exception as exc:
                    log.error("%s could not be started: %s", name, exc)

    def run(self, interval: float = 0.5) -> None:
        while not self.stopping:
            self.check()
            time.sleep(interval)

    def stop(self, timeout: float = 30.0) -> None:
        """Stop the children in reverse order of start (the web first, the broker last)."""
        for child in reversed(self.children):
            if child.running:
                child.process.send_signal(child.stop_signal)
            deadline = time.monotonic() + timeout
            if child.process is not None:
                try:
                    child.process.wait(timeout=max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    child.process.kill()
                    child.process.wait()
