"""python manage.py serve_realtime [--hostname NAME] [--check]

The realtime worker: query-time inference (query encodings, reranking) for searches that wait on
it. A process of its own, so a query never waits behind bulk embedding; it serves the lanes of
workers.realtime over Redis lists (workers.rpc), beats like the Celery workers (so /healthz and
the admin system page count it) and reports the models it serves. SIGTERM or Ctrl-C stops it.

--check (a container health check): exits 0 when the worker of that hostname beats and the lanes
answer a request.
"""

import signal
import socket
import threading

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from workers import process, realtime, rpc
from workers.heartbeat import Beater


class Command(BaseCommand):
    help = "Serve query-time inference (the realtime lanes) until stopped."

    def add_arguments(self, parser):
        parser.add_argument("--hostname", default=f"realtime@{socket.gethostname()}")
        parser.add_argument("--check", action="store_true", help="is it serving? (exit status)")

    def handle(self, *args, hostname: str, check: bool = False, **options):
        if check:
            return self._check(hostname)
        stopped = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stopped.set())
        process.prepare()
        process.report_models(hostname)
        lanes = realtime.lanes()
        threads = rpc.serve_lanes(lanes, stopped)
        beater = Beater(hostname, [settings.REALTIME_QUEUE])
        beater.start()
        self.stdout.write(f"{hostname}: serving {', '.join(lane.name for lane in lanes)}", ending="\n")
        self.stdout.flush()
        try:
            while not stopped.wait(1.0):
                pass
        finally:
            beater.stop()
            for thread in threads:
                thread.join(timeout=5)

    def _check(self, hostname: str) -> None:
        from workers import heartbeat
        from workers.client import InferenceUnavailable, active_models

        if hostname not in heartbeat.alive():
            raise CommandError(f"{hostname} is not beating")
        try:
            active_models(timeout=5)
        except InferenceUnavailable as exc:
            raise CommandError(f"the realtime lanes do not answer: {exc.reason}") from None
        self.stdout.write(f"{hostname}: serving")
