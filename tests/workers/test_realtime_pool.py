"""The realtime worker as `make run` starts it (manage.py serve_realtime): concurrent queries share
forward passes, and each still gets its own answer."""

from __future__ import annotations

import base64
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from tests.conftest import make_jpeg
from workers import client, rpc

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]

QUERIES = [f"{animal} on a {place} at {time_}" for animal in ("a dog", "two cats", "a horse")
           for place in ("beach", "bridge") for time_ in ("dawn", "night")]


def test_concurrent_queries_each_get_their_own_vector(celery_worker, minilm_reference):
    with ThreadPoolExecutor(max_workers=len(QUERIES)) as pool:
        answers = list(pool.map(lambda text: client.encode_query_text(text, timeout=60), QUERIES))
    assert {answer.model_id for answer in answers} == {minilm_reference.model_id}
    got = np.array([answer.vector for answer in answers], dtype=np.float32)
    # Batched together or not, each query's vector is its own (and equal to PyTorch's, alone).
    np.testing.assert_allclose(got, minilm_reference.encode_queries(QUERIES), atol=1e-5)
    with pytest.raises(ValueError, match="kind must be one of"):
        client.encode_query_text("x", kind="sound")


def test_a_broken_query_image_fails_alone(celery_worker):
    good = base64.b64encode(make_jpeg((200, 30, 30))).decode()
    broken = base64.b64encode(b"\xff\xd8\xff\xe0 not a picture").decode()
    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(lambda payload: rpc.call("encode-image", [payload], 30), [good, broken, good, broken]))
    assert [answer["ok"] for answer in answers] == [True, False, True, False]
    assert answers[1]["reason"].startswith("unreadable image")
    assert answers[0]["vector"] == pytest.approx(answers[2]["vector"], abs=1e-5)


@pytest.fixture(scope="module")
def minilm_reference():
    from workers.ml.minilm import MiniLMEmbedder

    return MiniLMEmbedder(device="cpu", local_files_only=True).load()


def test_the_health_check_says_whether_that_worker_serves(celery_worker, realtime_process):
    from django.core.management import call_command
    from django.core.management.base import CommandError

    call_command("serve_realtime", "--check", "--hostname", realtime_process.hostname)
    with pytest.raises(CommandError, match="is not beating"):
        call_command("serve_realtime", "--check", "--hostname", "realtime@nowhere")
