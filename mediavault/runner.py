"""`make run`: embedded services, migrations, first admin, then the supervised processes:
Redis (when embedded), the background worker (ingest, embed), the realtime worker (query-time
inference, so a search never waits behind bulk embedding), the scheduler, and the web server.

A process that dies is restarted with backoff (mediavault.supervisor); the web stays up while a
worker or the broker comes back. Ctrl-C or SIGTERM stops everything this started, and the
embedded PostgreSQL too, even one restarted by hand meanwhile.
"""

from __future__ import annotations

import logging
import os
import secrets
import signal
import sys
import time
from collections.abc import Callable

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mediavault.settings")

log = logging.getLogger(__name__)


def _banner(text: str) -> None:
    print(f"\n  {text}\n", flush=True)


def _ensure_admin() -> None:
    from django.contrib.auth import get_user_model

    User = get_user_model()
    if User.objects.filter(is_superuser=True).exists():
        return
    username = os.environ.get("MEDIAVAULT_ADMIN_USER", "admin")
    password = secrets.token_urlsafe(12)
    User.objects.create_superuser(username=username, email="", password=password)
    _banner(f"Created the first admin account.  username: {username}   password: {password}")


def _with_torch_threads(count: int, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("MEDIAVAULT_TORCH_THREADS", str(count))
    for name, value in extra.items():
        env.setdefault(name, value)
    return env


def bulk_worker_shape() -> tuple[int, int]:
    """(processes, torch threads each) of the bulk worker: ``WORKER_CONCURRENCY`` processes (2)
    sharing this machine's cores."""
    concurrency = max(1, int(os.environ.get("WORKER_CONCURRENCY", "2")))
    return concurrency, max(1, len(os.sched_getaffinity(0)) // concurrency)


# How long the banner waits for the realtime worker to warm its models (11 s on a fresh install
# here, most of it a one-off ONNX export). Searches sent before it serves wait out their timeout
# and come back degraded, so "running" is not said until it serves; a worker that never does
# is reported rather than waited on forever.
REALTIME_READY_WAIT_S = 180.0


def _wait_until_serving(child, timeout_s: float = REALTIME_READY_WAIT_S,
                        stopping: Callable[[], bool] = lambda: False) -> str | None:
    """None once `child` beats (the realtime worker beats only after its models are warm and its
    lanes serve) or `stopping()` says the wait no longer matters, else why not: it exited, or
    `timeout_s` passed."""
    from workers import heartbeat

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and not stopping():
        if not child.running:
            return f"the {child.name} worker exited with {child.process.returncode}"
        try:
            if any(beat["pid"] == child.process.pid for beat in heartbeat.alive().values()):
                return None
        except Exception as exc:  # the broker is still starting: ask again
            log.debug("heartbeats unreadable: %s", exc)
        time.sleep(0.25)
    return None if stopping() else f"the {child.name} worker did not start serving within {timeout_s:.0f}s"


# gunicorn's default request line is 4,094 bytes, and a Chinese character takes 9 in a URL: from
# about 450 of them a search got gunicorn's bare 414 page instead of results or the search's own
# "at most 1000 characters". 8,190 is its largest bounded limit (0 would mean unbounded) and what
# the production proxy's 8 KB header buffers pass on: about 900 such characters.
WEB_LIMITS = ("--limit-request-line", "8190")


def _children(settings):
    from mediavault import embedded
    from mediavault.supervisor import Child

    python = sys.executable
    var = str(settings.VAR_DIR)
    celery = [python, "-m", "celery", "-A", "mediavault"]
    children = []
    if settings.BROKER_EMBEDDED and not embedded.redis_alive(settings.EMBEDDED_REDIS_SOCKET):
        socket = settings.EMBEDDED_REDIS_SOCKET
        children.append(
            Child("redis", embedded.redis_command(socket), ready=lambda p: embedded.wait_for_redis(socket, process=p))
        )
    concurrency, threads = bulk_worker_shape()
    children += [
        # Bulk work yields the processor (nice) and shares the cores between its processes.
        Child("worker", [*celery, "worker", "-Q", "ingest,analyse,embed", "--concurrency", str(concurrency),
                         "--loglevel", "INFO", "--hostname", "mediavault@%h"], nice=10,
              env=_with_torch_threads(threads)),
        # Its own process, so query encoding never waits behind a batch of bulk embedding; its
        # lanes answer over Redis lists (workers.rpc), queries waiting together share a forward pass.
        Child("realtime", [python, str(settings.BASE_DIR / "manage.py"), "serve_realtime"],
              env=_with_torch_threads(1, MEDIAVAULT_WARM_MODELS="text,image,rerank")),
        # The one scheduler: its own process (a worker's -B child could outlive a killed worker).
        Child("beat", [*celery, "beat", "--loglevel", "INFO", "--schedule", f"{var}/celerybeat-schedule",
                       "--pidfile", f"{var}/celerybeat.pid"]),
        # A step below the realtime worker, whose few milliseconds of encoding every search waits
        # for: woken, it runs at once instead of queueing behind request threads (under the load
        # benchmark a query's encoding round trip went from 53 to 41 ms at p50).
        Child("web", [python, "-m", "gunicorn", "mediavault.wsgi:application", "--bind",
                      f"127.0.0.1:{os.environ.get('PORT', '8000')}", "--workers", os.environ.get("WEB_WORKERS", "2"),
                      "--threads", "4", "--timeout", "120", *WEB_LIMITS, "--access-logfile", "-"], nice=3),
    ]
    return children


def main() -> int:
    from mediavault.supervisor import die_with_parent

    # `make` may be stopped without passing the signal on: then this process stops too, cleanly.
    die_with_parent()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    started = time.monotonic()
    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    from mediavault import embedded
    from mediavault.supervisor import AlreadyRunning, Supervisor, hold_instance_lock

    try:
        instance_lock = hold_instance_lock(settings.VAR_DIR / "run.lock")
    except AlreadyRunning as exc:
        print(exc, file=sys.stderr, flush=True)
        return 1

    watch = []
    if settings.DATABASE_EMBEDDED:
        embedded.start_postgres(settings.EMBEDDED_PGDATA)
        pgdata = settings.EMBEDDED_PGDATA
        watch.append(("PostgreSQL", lambda: embedded.postgres_running(pgdata),
                      lambda: embedded.start_postgres(pgdata)))
    supervisor = Supervisor(_children(settings), watch)
    signal.signal(signal.SIGINT, supervisor.request_stop)
    signal.signal(signal.SIGTERM, supervisor.request_stop)
    try:
        # Redis first (the migrations do not need it, but everything after does).
        if supervisor.children and supervisor.children[0].name == "redis":
            supervisor.children[0].start()
            rest = supervisor.children[1:]
        else:
            rest = supervisor.children
        call_command("migrate", interactive=False, verbosity=0)
        call_command("collectstatic", interactive=False, verbosity=0)
        _ensure_admin()
        from django.db import connections

        connections.close_all()  # the children have their own; this process only supervises now
        for child in rest:
            child.start()
        realtime = next(child for child in rest if child.name == "realtime")
        problem = _wait_until_serving(realtime, stopping=lambda: supervisor.stopping)
        if problem is not None:
            print(f"Warning: {problem}; searches run without semantic signals until it serves.", flush=True)
        port = os.environ.get("PORT", "8000")
        if not supervisor.stopping:  # a stop asked for while waiting: nothing to announce
            _banner(
                f"MediaVault is running on http://127.0.0.1:{port}/  (ready in {time.monotonic() - started:.1f}s; "
                f"database: {'embedded' if settings.DATABASE_EMBEDDED else 'external'}, "
                f"broker: {'embedded' if settings.BROKER_EMBEDDED else 'external'}).  Ctrl-C stops everything."
            )
        supervisor.run()
    finally:
        supervisor.stop()
        if settings.DATABASE_EMBEDDED:
            embedded.stop_postgres(settings.EMBEDDED_PGDATA)
        print("MediaVault stopped.", flush=True)
        instance_lock.close()  # last: until everything it started has stopped, no other may start
    return 0


if __name__ == "__main__":
    sys.exit(main())
