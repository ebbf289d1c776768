"""`make run`: embedded services, migrations, first admin, one Celery worker and the web server.

Ctrl-C or SIGTERM stops everything this started: web server, worker, Redis, PostgreSQL.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mediavault.settings")


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


def main() -> int:
    started = time.monotonic()
    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    _ensure_admin()

    port = os.environ.get("PORT", "8000")
    python = sys.executable
    children = [
        subprocess.Popen(
            [python, "-m", "celery", "-A", "mediavault", "worker", "-B", "-Q", "ingest,embed,realtime",
             "--concurrency", os.environ.get("WORKER_CONCURRENCY", "2"), "--loglevel", "INFO",
             "--hostname", "mediavault@%h"],
        ),
        subprocess.Popen(
            [python, "-m", "gunicorn", "mediavault.wsgi:application", "--bind", f"127.0.0.1:{port}",
             "--workers", os.environ.get("WEB_WORKERS", "2"), "--threads", "4", "--timeout", "120",
             "--access-logfile", "-"],
        ),
    ]
    _banner(
        f"MediaVault is running on http://127.0.0.1:{port}/  (ready in {time.monotonic() - started:.1f}s; "
        f"database: {'embedded' if settings.DATABASE_EMBEDDED else 'external'}, "
        f"broker: {'embedded' if settings.BROKER_EMBEDDED else 'external'}).  Ctrl-C stops everything."
    )

    stopping = False

    def stop(signum, frame) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    exit_code = 0
    while not stopping:
        for child in children:
            if child.poll() is not None:
                print(f"{child.args[2]} exited with {child.returncode}; stopping.", flush=True)
                exit_code, stopping = child.returncode or 1, True
        time.sleep(0.5)

    for child in children:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 30
    for child in children:
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
    _stop_services(settings)
    print("MediaVault stopped.", flush=True)
    return exit_code


def _stop_services(settings) -> None:
    from django.db import connections

    from mediavault import embedded

    connections.close_all()
    if settings.BROKER_EMBEDDED:
        embedded.stop_redis(settings.EMBEDDED_REDIS_SOCKET)
    if settings.DATABASE_EMBEDDED:
        embedded.stop_postgres(settings.EMBEDDED_PGDATA)


if __name__ == "__main__":
    sys.exit(main())
