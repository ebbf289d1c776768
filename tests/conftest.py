"""Shared fixtures: named users (alice and bob in one team, charlie outside, an admin), sample
files from ../shared/data, and a real Celery worker process on the tests' own Redis."""

from __future__ import annotations

import atexit
import io
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client
from rest_framework.test import APIClient

from assets.models import Membership, Role, Team
from mediavault.celery import app
from search import concurrency

SAMPLES = settings.SHARED_DATA / "exif-samples"


def pytest_configure(config) -> None:
    """The suite's own Redis and the shared embedded PostgreSQL, started unless running; what this
    run started stops when it ends (settings never start services on import)."""
    from mediavault import embedded

    # atexit runs last-registered first: the broker stops, then its append-only file goes.
    atexit.register(_remove_broker_files)
    embedded.ensure_running(settings, stop_at_exit=True)


def _remove_broker_files() -> None:
    socket_path = Path(settings.EMBEDDED_REDIS_SOCKET)
    for suffix in (".aof", ".rdb", ".log", ".pid"):
        socket_path.with_suffix(suffix).unlink(missing_ok=True)


def sample(relative: str) -> Path:
    path = SAMPLES / relative
    if not path.exists():
        pytest.fail(f"shared test data missing: {path}")
    return path


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup):
    """pytest-django's test database, plus: the search service's pooled connections are closed
    before it is dropped (they would keep it open)."""
    yield
    concurrency.close_connections()


@pytest.fixture
def team(db):
    return Team.objects.create(name="Studio", slug="studio")


@pytest.fixture
def other_team(db):
    return Team.objects.create(name="Newsroom", slug="newsroom")


def _user(username: str, **extra):
    return get_user_model().objects.create_user(username=username, password=f"{username}-pw", is_staff=True, **extra)


@pytest.fixture
def alice(team):
    user = _user("alice")
    Membership.objects.create(team=team, user=user, role=Role.EDITOR)
    return user


@pytest.fixture
def bob(team):
    user = _user("bob")
    Membership.objects.create(team=team, user=user, role=Role.VIEWER)
    return user


@pytest.fixture
def charlie(other_team):
    user = _user("charlie")
    Membership.objects.create(team=other_team, user=user, role=Role.MANAGER)
    return user


@pytest.fixture
def admin_user(db):
    return get_user_model().objects.create_superuser(username="admin", password="admin-pw")


@pytest.fixture
def api_for():
    """api_for(user) -> an APIClient authenticated as that user (None for anonymous)."""

    def make(user):
        client = APIClient()
        if user is not None:
            client.force_authenticate(user)
        return client

    return make


@pytest.fixture
def client_for():
    """client_for(user) -> a Django test client signed in as that user (None for anonymous)."""

    def make(user):
        client = Client()
        if user is not None:
            client.force_login(user)
        return client

    return make


def upload_file(path: Path, name: str | None = None):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name or path.name, path.read_bytes())


def upload_bytes(data: bytes, name: str):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data)


def noise_picture(size: tuple[int, int], seed: int):
    """A picture of random pixels (width, height): every one different, for models to tell apart."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8))


@pytest.fixture(scope="session")
def tiny_qwen_vl_dir(tmp_path_factory) -> str:
    """A tiny random Qwen3-VL (workers.ml.testing): captions, multimodal vectors and VL reranking."""
    from workers.ml.testing import build_tiny_qwen_vl

    return build_tiny_qwen_vl(tmp_path_factory.mktemp("tiny-qwen-vl"))


def make_jpeg(color=(200, 30, 30), size=(64, 48)) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format="JPEG")
    return buffer.getvalue()


# --- A real Celery worker ---------------------------------------------------------------


@pytest.fixture(scope="session")
def worker_model_env(tmp_path_factory) -> dict[str, str]:
    """The models the test worker serves: tiny local CLIP and reranker, and the shipped MiniLM for text."""
    from workers.ml.testing import build_tiny_clip, build_tiny_qwen_reranker, model_env

    root = tmp_path_factory.mktemp("worker-models")
    return model_env(build_tiny_clip(root / "clip"), "minilm", build_tiny_qwen_reranker(root / "rerank"))


def service_env() -> dict[str, str]:
    """Environment for a child process that must use this session's test database, broker and storage."""
    db = settings.DATABASES["default"]
    return {
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": f"postgresql://{db['USER']}:{db['PASSWORD']}@/{db['NAME']}?host={db['HOST']}"
        + (f"&port={db['PORT']}" if db["PORT"] else ""),
        "REDIS_URL": settings.CELERY_BROKER_URL,
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "MEDIAVAULT_VAR_DIR": str(settings.VAR_DIR),
    }


def _worker_env(model_env: dict[str, str]) -> dict[str, str]:
    return {**os.environ, **model_env, **service_env()}


class TestWorker:
    """One of the suite's real worker processes, against the test database: by default the Celery
    worker (prefork, one child, the bulk queues); `realtime()` gives the query-time one.

    It runs in a process group of its own, so a fault test can SIGKILL the worker and its pool child
    at once (`kill`) and start a replacement (`start`) that the rest of the session then uses."""

    def __init__(self, env: dict[str, str], log_path: Path, command: list[str] | None = None,
                 hostname: str | None = None):
        self.env, self.log_path = env, log_path
        self.hostname = hostname or f"test-{os.getpid()}@{socket.gethostname()}"
        self.celery = command is None
        self.command = command or [
            sys.executable, "-m", "celery", "-A", "mediavault", "worker", "-Q", "ingest,analyse,embed",
            "--concurrency", "1", "--loglevel", "INFO", "--hostname", self.hostname,
            "--without-mingle", "--without-gossip",
        ]
        self.process: subprocess.Popen | None = None

    @classmethod
    def realtime(cls, env: dict[str, str], log_path: Path) -> TestWorker:
        hostname = f"test-realtime-{os.getpid()}@{socket.gethostname()}"
        command = [sys.executable, "manage.py", "serve_realtime", "--hostname", hostname]
        return cls({**env, "MEDIAVAULT_WARM_MODELS": "text"}, log_path, command, hostname)

    def launch(self) -> None:
        from workers import heartbeat

        heartbeat.forget(self.hostname)
        with open(self.log_path, "a") as log:
            self.process = subprocess.Popen(
                self.command, env=self.env, stdout=log, stderr=subprocess.STDOUT, cwd=settings.BASE_DIR,
                start_new_session=True,
            )

    def answers(self) -> bool:
        """The Celery worker answers a ping; the realtime one beats (workers.heartbeat) once its
        lanes serve (`launch` cleared the beat a killed one left)."""
        from workers import heartbeat

        if self.celery:
            return bool(app.control.ping(destination=[self.hostname], timeout=0.5))
        return self.hostname in heartbeat.alive()

    def start(self, timeout: float = 60.0) -> float:
        """Start the worker; returns when it answers (the monotonic time it did)."""
        self.launch()
        return self.wait_ready(timeout)

    def wait_ready(self, timeout: float = 60.0) -> float:
        deadline = time.monotonic() + timeout
        while not self.answers():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.process.kill()
                pytest.fail(f"{self.hostname} did not start; log:\n{self.log_path.read_text()[-3000:]}")
            time.sleep(0.1)
        return time.monotonic()

    def kill(self) -> None:
        """SIGKILL the worker and its pool children: a crash, with nothing acknowledged or cleaned up."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=20)

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self) -> None:
        if not self.alive():
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)


@pytest.fixture(scope="session")
def _worker_processes(django_db_setup, django_db_blocker, worker_model_env):
    app.control.purge()
    env, var = _worker_env(worker_model_env), Path(settings.VAR_DIR)
    worker = TestWorker(env, var / f"test-worker-{os.getpid()}.log")
    realtime = TestWorker.realtime(env, var / f"test-realtime-{os.getpid()}.log")
    realtime.launch()  # loads its model while the Celery worker starts
    worker.start()
    realtime.wait_ready()
    yield worker, realtime
    worker.stop()
    realtime.stop()


@pytest.fixture(scope="session")
def worker_process(_worker_processes):
    return _worker_processes[0]


@pytest.fixture(scope="session")
def realtime_process(_worker_processes):
    return _worker_processes[1]


def worker_idle() -> bool:
    """No task running or reserved in this session's worker and no message waiting in its queues."""
    import redis

    try:
        inspect = app.control.inspect(destination=[f"test-{os.getpid()}@{socket.gethostname()}"], timeout=2,
                                      limit=1)
        active, reserved = inspect.active(), inspect.reserved()
        if active is None or reserved is None:
            return False  # no answer is no evidence of idleness
        busy = [*active.values(), *reserved.values()]
        with app.connection_for_write() as connection:
            client = connection.default_channel.client
            waiting = sum(client.llen(queue) for queue in ("ingest", "analyse", "embed"))
    except redis.ConnectionError:
        return False  # a pooled connection to a broker since restarted: it reconnects on the next try
    return not any(busy) and waiting == 0


def _sweep_once() -> None:
    import redis

    try:
        app.send_task("workers.sweep").get(timeout=30)
    except redis.ConnectionError:  # as in worker_idle: the failed connection reconnects on its next use
        app.send_task("workers.sweep").get(timeout=30)


@pytest.fixture
def celery_worker(worker_process, realtime_process):
    """The real workers (started again if a fault test left one dead), the Celery one idle before the
    test (its start-up sweep done, models reported) and again after:
    work a test sets off (an ingest chains an embed) must not write into the database after its flush."""
    for process in (worker_process, realtime_process):
        if not process.alive():
            process.start()
    _sweep_once()
    wait_for(worker_idle, timeout=60, interval=0.2)
    yield worker_process
    wait_for(lambda: worker_idle() and worker_idle(), timeout=120, interval=0.2)


def wait_for(predicate, timeout: float = 30.0, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s")
