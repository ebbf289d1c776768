"""The realtime worker as `make run` starts it: a threads pool whose tasks share forward passes."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from django.conf import settings

from mediavault.celery import app
from tests.conftest import _worker_env

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]

QUERIES = [f"{animal} on a {place} at {time_}" for animal in ("a dog", "two cats", "a horse")
           for place in ("beach", "bridge") for time_ in ("dawn", "night")]


@pytest.fixture
def threaded_realtime_worker(worker_model_env, tmp_path):
    """A realtime worker with the runner's pool settings, consuming a queue of its own."""
    queue, hostname = f"realtime-test-{os.getpid()}", f"rt-{os.getpid()}@%h"
    env = {**_worker_env(worker_model_env), "MEDIAVAULT_TORCH_THREADS": "1", "MEDIAVAULT_WARM_MODELS": "text"}
    with open(tmp_path / "worker.log", "w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "mediavault", "worker", "-Q", queue, "--pool", "threads",
             "--concurrency", "6", "--loglevel", "WARNING", "--hostname", hostname, "--without-mingle",
             "--without-gossip"],
            env=env, stdout=log, stderr=subprocess.STDOUT, cwd=settings.BASE_DIR, start_new_session=True,
        )
    destination = hostname.replace("%h", socket.gethostname())
    deadline = time.monotonic() + 90
    while not app.control.ping(destination=[destination], timeout=0.5):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"realtime worker did not start:\n{(tmp_path / 'worker.log').read_text()[-3000:]}")
    yield queue
    process.terminate()
    process.wait(timeout=30)


def test_concurrent_queries_each_get_their_own_vector(threaded_realtime_worker, minilm_reference):
    def ask(text):
        return app.send_task("workers.realtime.encode_text", args=[text, "text"],
                             queue=threaded_realtime_worker).get(timeout=60)

    with ThreadPoolExecutor(max_workers=len(QUERIES)) as pool:
        answers = list(pool.map(ask, QUERIES))
    assert all(answer["ok"] for answer in answers), answers
    assert {answer["model_id"] for answer in answers} == {minilm_reference.model_id}
    got = np.array([answer["vector"] for answer in answers], dtype=np.float32)
    # Batched together or not, each query's vector is its own (and equal to PyTorch's, alone).
    np.testing.assert_allclose(got, minilm_reference.encode_queries(QUERIES), atol=1e-5)
    unknown = app.send_task("workers.realtime.encode_text", args=["x", "sound"],
                            queue=threaded_realtime_worker).get(timeout=30)
    assert unknown == {"ok": False, "reason": "unknown kind 'sound'"}


@pytest.fixture(scope="module")
def minilm_reference():
    from workers.ml.minilm import MiniLMEmbedder

    return MiniLMEmbedder(device="cpu", local_files_only=True).load()
