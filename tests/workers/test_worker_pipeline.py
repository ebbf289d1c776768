"""Through a real Celery worker process: ingest -> embed, query-time encoding, model reporting."""

import numpy as np
import pytest

from assets import actions
from assets.models import ActiveModel, Asset, Embedding, EmbeddingStatus
from tests.conftest import make_jpeg, sample, upload_bytes, upload_file, wait_for
from workers import client

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]


def _embedded(asset_id: int) -> Asset | None:
    asset = Asset.objects.get(pk=asset_id)
    done = asset.embedding_status in (EmbeddingStatus.READY, EmbeddingStatus.FAILED)
    return asset if done else None


def test_uploaded_photo_gets_image_and_text_vectors_shown_in_the_api(celery_worker, alice, api_for):
    response = api_for(alice).post(
        "/api/v1/assets/", {"file": upload_file(sample("jpg/gps/DSCN0012.jpg")), "description": "Tuscan hills"},
        format="multipart",
    )
    assert response.status_code == 201, response.content
    asset = wait_for(lambda: _embedded(response.json()["id"]), timeout=90)
    assert asset.embedding_status == EmbeddingStatus.READY, asset.embedding_error
    models = {row.kind: row for row in ActiveModel.objects.all()}
    assert models["image"].available and models["text"].available
    assert models["text"].model_id.endswith("all-MiniLM-L6-v2")
    body = api_for(alice).get(f"/api/v1/assets/{asset.pk}/").json()
    assert body["embedding_status"] == "ready"
    assert body["embeddings"]["image"]["model_id"] == models["image"].model_id
    assert body["embeddings"]["image"]["dim"] == 32
    assert body["embeddings"]["text"] == {
        "model_id": models["text"].model_id, "dim": 384, "updated_at": body["embeddings"]["text"]["updated_at"]
    }
    missing = api_for(alice).get("/api/v1/assets/?missing_embedding=image").json()
    assert missing["count"] == 0


def test_minilm_through_the_worker_ranks_the_puppy_above_the_car_for_dog(celery_worker, alice):
    ids = {}
    for text, colour in (("a puppy playing fetch in the park", (10, 200, 10)),
                         ("a red sports car on a highway", (200, 10, 10))):
        options = actions.AssetOptions(description=text)
        result = actions.upload_asset(alice, upload_bytes(make_jpeg(colour), f"{colour}.jpg"), f"{colour}.jpg", options)
        ids[text] = result.asset.pk
    for asset_id in ids.values():
        assert wait_for(lambda a=asset_id: _embedded(a), timeout=90).embedding_status == EmbeddingStatus.READY

    query = client.encode_query_text("dog")
    rows = Embedding.objects.filter(kind="text", model_id=query.model_id, asset_id__in=ids.values())
    scores = {row.asset_id: float(np.dot(np.array(row.vector, dtype=float), query.vector)) for row in rows}
    assert len(scores) == 2
    assert scores[ids["a puppy playing fetch in the park"]] > scores[ids["a red sports car on a highway"]]


def test_query_time_image_text_and_rerank_go_through_the_realtime_queue(celery_worker):
    text_vector = client.encode_query_text("a lighthouse", kind="image")
    image_vector = client.encode_query_image(sample("jpg/gps/DSCN0010.jpg").read_bytes())
    assert text_vector.model_id == image_vector.model_id
    assert text_vector.dim == image_vector.dim == 32
    assert np.linalg.norm(image_vector.vector) == pytest.approx(1.0, abs=1e-3)
    scores = client.rerank("dog", ["a puppy", "a car", "a cat"], instruction="Find photos")
    assert len(scores.scores) == 3 and all(0.0 <= s <= 1.0 for s in scores.scores)


def test_realtime_timeout_raises_one_specific_exception(celery_worker, settings):
    # A queue no worker consumes: a real timeout, not a simulated one.
    settings.REALTIME_QUEUE = "realtime-nobody-listens"
    with pytest.raises(client.InferenceUnavailable) as caught:
        client.encode_query_text("dog", timeout=0.5)
    assert caught.value.reason == "worker timeout"


def test_health_reports_the_models_the_worker_serves_to_staff(celery_worker, client, alice):
    from mediavault.celery import app

    # The periodic sweep re-reports the models (this test's database was emptied since worker start).
    app.send_task("workers.sweep").get(timeout=30)
    client.force_login(alice)
    body = client.get("/healthz").json()
    assert body["models"]["text"]["available"] is True
    assert body["models"]["image"]["device"] == "cpu"


def test_status_page_shows_active_models_devices_and_workers(celery_worker, alice):
    from django.test import Client

    from mediavault.celery import app

    app.send_task("workers.sweep").get(timeout=30)
    browser = Client()
    browser.force_login(alice)
    page = browser.get("/status/").content.decode()
    text_model = ActiveModel.objects.get(kind="text").model_id
    assert text_model in page
    assert "cpu" in page
    assert "test-" in page  # the worker's hostname, listed under its queues
