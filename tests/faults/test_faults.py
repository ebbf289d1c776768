"""Faults against the real services: a worker killed mid-bulk, the broker stopped during uploads, the
database restarted under a running web server. Nothing is lost; everything ends ready.

These tests kill and restart shared processes (the suite's worker, its Redis), so they start the
scheduler they need themselves and leave a working worker behind for the tests after them.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from assets.models import Asset, EmbeddingStatus, Status
from mediavault import embedded
from tests.conftest import SAMPLES, service_env, upload_bytes, wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]

RECOVERY_GOAL_S = 60


def sample_photos(count: int) -> list[Path]:
    """`count` distinct real camera files (EXIF samples), none of the deliberately broken ones."""
    found, seen = [], set()
    for folder in ("jpg", "jpg/exif-org", "jpg/gps", "jpg/orientation", "jpg/hdr", "jpg/mobile"):
        for path in sorted((SAMPLES / folder).glob("*.jpg")):
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            if path.name != "corrupted.jpg" and digest not in seen:
                seen.add(digest)
                found.append(path)
    if len(found) < count:
        pytest.fail(f"shared test data: only {len(found)} distinct sample photos")
    return found[:count]


@pytest.fixture
def scheduler(tmp_path, worker_model_env):
    """The periodic sweep, as `make run` has it (celery beat), every second."""
    env = {**os.environ, **worker_model_env, **service_env(), "MEDIAVAULT_SWEEP_EVERY_S": "1"}
    with open(tmp_path / "beat.log", "w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "mediavault", "beat", "--schedule", str(tmp_path / "schedule"),
             "--pidfile", str(tmp_path / "beat.pid"), "--loglevel", "INFO"],
            env=env, stdout=log, stderr=subprocess.STDOUT, cwd=settings.BASE_DIR,
        )
    yield process
    process.terminate()
    process.wait(timeout=20)


def _all_ready(ids) -> bool:
    rows = Asset.objects.filter(pk__in=ids)
    done = rows.filter(status=Status.READY, embedding_status=EmbeddingStatus.READY).count()
    failed = rows.filter(status=Status.FAILED).values_list("original_filename", "error")
    assert not failed, list(failed)
    return done == len(ids)


def _bulk_upload(api, paths: list[Path]) -> list[int]:
    response = api.post(
        "/api/v1/assets/bulk/", {"files": [upload_bytes(p.read_bytes(), p.name) for p in paths]}, format="multipart"
    )
    assert response.status_code == 207, response.content[:500]
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["created"] * len(paths), results
    return [r["id"] for r in results]


def test_a_worker_killed_during_a_bulk_upload_loses_nothing(celery_worker, scheduler, alice, api_for):
    ids = _bulk_upload(api_for(alice), sample_photos(30))
    wait_for(lambda: Asset.objects.filter(pk__in=ids, status=Status.READY).count() >= 3, timeout=60)
    celery_worker.kill()  # SIGKILL, pool child included: claims and prefetched messages are abandoned
    unfinished = Asset.objects.filter(pk__in=ids).exclude(status=Status.READY, embedding_status=EmbeddingStatus.READY)
    assert unfinished.exists(), "the worker finished everything before it was killed: kill it earlier"

    back = celery_worker.start()
    wait_for(lambda: _all_ready(ids), timeout=RECOVERY_GOAL_S + 30, interval=0.5)
    recovered = time.monotonic() - back

    assert recovered <= RECOVERY_GOAL_S, f"all 30 ready {recovered:.0f}s after a worker was back"
    assets = Asset.objects.filter(pk__in=ids)
    assert assets.count() == 30
    for asset in assets.prefetch_related("renditions", "embeddings"):
        assert {r.spec for r in asset.renditions.all()} == {"max256", "max1024"}, asset
        assert {e.kind for e in asset.embeddings.all()} == {"image", "text"}, asset


def test_uploads_succeed_while_the_broker_is_down_and_are_processed_once_it_is_back(
    celery_worker, scheduler, alice, api_for
):
    socket_path = Path(settings.EMBEDDED_REDIS_SOCKET)
    api = api_for(alice)
    photos = sample_photos(36)[30:36]
    embedded.stop_redis(socket_path)
    try:
        ids, slowest = [], 0.0
        for path in photos:
            started = time.monotonic()
            response = api.post("/api/v1/assets/", {"file": upload_bytes(path.read_bytes(), path.name)},
                                format="multipart")
            slowest = max(slowest, time.monotonic() - started)
            assert response.status_code == 201, response.content[:300]
            ids.append(response.json()["id"])
        assert slowest < 5, f"an upload took {slowest:.1f}s with the broker down"
        assert set(Asset.objects.filter(pk__in=ids).values_list("status", flat=True)) == {Status.PENDING}
        # Search answers from the keyword index alone, at once, naming what it could not use.
        started = time.monotonic()
        response = api.get("/api/v1/search/", {"q": photos[0].stem, "mode": "hybrid"})
        assert time.monotonic() - started < 5
        assert response.status_code == 200, response.content[:300]
        body = response.json()
        # A file name is matched literally (the index is in the database); no vector signal is used.
        assert body["signals"] and not {"semantic_text", "semantic_image"} & set(body["signals"]), body["signals"]
        assert any(d.startswith("semantic_text: broker unavailable") for d in body["degraded"]), body["degraded"]
        assert ids[0] in [r["asset"]["id"] for r in body["results"]]
    finally:
        embedded.start_redis(socket_path)
    # The worker and the scheduler reconnect; the sweeper sends what the broker never received.
    wait_for(lambda: _all_ready(ids), timeout=90, interval=0.5)


@pytest.fixture
def own_database(tmp_path):
    """A PostgreSQL server of this test's own (it is restarted), migrated, with a staff token."""
    pgdata = tmp_path / "pg"
    embedded.start_postgres(pgdata)
    url = embedded.postgres_url(pgdata)
    env = {**os.environ, **service_env(), "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "mediavault.settings",
           "PYTHONDONTWRITEBYTECODE": "1"}
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "-v", "0"], env=env, cwd=settings.BASE_DIR, check=True, timeout=180)
    script = ("from django.contrib.auth import get_user_model; from rest_framework.authtoken.models import Token;"
              "u = get_user_model().objects.create_user('erin', password='x', is_staff=True);"
              "print(Token.objects.create(user=u).key)")
    token = subprocess.run([*manage, "shell", "-c", script], env=env, cwd=settings.BASE_DIR, check=True,
                           capture_output=True, text=True, timeout=120).stdout.strip().splitlines()[-1]
    yield pgdata, env, token
    embedded.stop_postgres(pgdata)


def _get(url: str, token: str) -> int:
    request = urllib.request.Request(url, headers={"Authorization": f"Token {token}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except urllib.error.URLError:
        return 0  # not listening (yet)


def test_a_web_server_survives_a_database_restart(own_database, tmp_path):
    pgdata, env, token = own_database
    port = 20000 + os.getpid() % 20000
    web = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "mediavault.wsgi:application", "--bind", f"127.0.0.1:{port}",
         "--workers", "1", "--threads", "2"],
        env=env, cwd=settings.BASE_DIR, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _get(f"{base}/api/v1/assets/", token) == 200, timeout=30, interval=0.2)
        embedded.stop_postgres(pgdata)
        assert not embedded.postgres_running(pgdata)
        embedded.start_postgres(pgdata)
        # The very next requests succeed: pooled connections are checked before use and reopened.
        assert [_get(f"{base}/api/v1/assets/", token) for _ in range(3)] == [200, 200, 200]
        assert _get(f"{base}/healthz", token) in (200, 503)  # answers (the worker check may say 503)
    finally:
        web.terminate()
        web.wait(timeout=20)
        connection.close()
