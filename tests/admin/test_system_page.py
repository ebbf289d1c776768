"""The admin system page: services, workers, queue depths, asset counts, failures with retry, models."""

import os
import re

import pytest
from django.contrib.auth import get_user_model

from assets.models import ActiveModel, Asset, EmbeddingStatus, Status
from mediavault.celery import app
from tests.portal.conftest import make_asset
from workers import client, rpc, status

pytestmark = pytest.mark.django_db

URL = "/admin/system/"


def _row(page: str, testid: str) -> str:
    """The HTML of the element with this data-testid, up to its matching closing tag."""
    start = re.search(rf'<(\w+)[^>]*data-testid="{re.escape(testid)}"', page)
    assert start, f"no data-testid={testid!r} on the page"
    tag, depth = start.group(1), 0
    for tag_match in re.finditer(rf"<(/?){tag}\b", page[start.start() :]):
        depth += -1 if tag_match.group(1) else 1
        if depth == 0:
            return page[start.start() : start.start() + tag_match.end()]
    raise AssertionError(f"data-testid={testid!r} is never closed")


@pytest.fixture
def failed_assets(alice):
    ingest = make_asset(
        alice,
        title="Broken scan",
        status=Status.FAILED,
        error="processing failed: UnidentifiedImageError: cannot identify image file",
    )
    embedding = make_asset(
        alice,
        title="Huge panorama",
        embedding_status=EmbeddingStatus.FAILED,
        embedding_error="CUDA out of memory while embedding",
    )
    return ingest, embedding


def test_page_shows_failures_models_counts_and_services_to_a_superuser(admin_user, client_for, failed_assets):
    ingest, embedding = failed_assets
    make_asset(admin_user, title="Fine")
    ActiveModel.objects.create(
        kind="image",
        available=True,
        model_id="ViT-B-32-test",
        dim=512,
        device="cuda:0",
        dtype="float16",
        worker="gpu-1",
    )
    ActiveModel.objects.create(kind="rerank", available=False, reason="weights not found")

    response = client_for(admin_user).get(URL)
    assert response.status_code == 200
    page = response.content.decode()
    assert '<div id="site-name">' in page  # the admin's own base template

    failures = _row(page, "system-failures")
    assert f'data-asset-id="{ingest.pk}" data-stage="ingest"' in failures
    assert f'data-asset-id="{embedding.pk}" data-stage="embedding"' in failures
    assert "UnidentifiedImageError: cannot identify image file" in failures
    assert "CUDA out of memory while embedding" in failures
    assert failures.count('data-testid="retry-asset"') == 2
    assert f'action="/admin/system/retry/{ingest.pk}/"' in failures
    assert 'name="csrfmiddlewaretoken"' in failures
    assert 'data-testid="retry-all-failed"' in page

    models = _row(page, "system-models")
    assert "ViT-B-32-test" in models and "cuda:0" in models and "float16" in models
    assert "unavailable" in models and "weights not found" in models

    assert "failed: 1" in _row(page, "system-assets-status")
    assert "ready: 2" in _row(page, "system-assets-status")
    assert "failed: 1" in _row(page, "system-assets-embedding")

    services = _row(page, "system-services")
    assert "embedded PostgreSQL" in services and "embedded Redis" in services
    assert "pgvector" in services


def test_no_failures_says_so(admin_user, client_for):
    page = client_for(admin_user).get(URL).content.decode()
    assert 'data-testid="system-failures-none"' in page
    assert 'data-testid="retry-all-failed"' not in page


def test_staff_who_are_not_superusers_get_403_and_anonymous_users_the_login(alice, client_for, failed_assets):
    ingest, _ = failed_assets
    assert client_for(alice).get(URL).status_code == 403
    assert client_for(alice).post(f"{URL}retry/{ingest.pk}/").status_code == 403
    assert client_for(alice).post(f"{URL}retry-all/").status_code == 403
    ingest.refresh_from_db()
    assert ingest.status == Status.FAILED

    response = client_for(None).get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")

    not_staff = get_user_model().objects.create_user("visitor", password="visitor-pw")
    assert client_for(not_staff).get(URL)["Location"].startswith("/admin/login/")


def test_admin_index_and_header_link_to_the_system_page_for_superusers_only(admin_user, alice, client_for):
    index = client_for(admin_user).get("/admin/").content.decode()
    assert 'data-testid="admin-index-system"' in index
    assert 'data-testid="admin-nav-system"' in index and f'href="{URL}"' in index
    assert 'data-testid="admin-nav-system"' in client_for(admin_user).get("/admin/assets/asset/").content.decode()
    staff_index = client_for(alice).get("/admin/").content.decode()
    assert URL not in staff_index


def test_retry_puts_a_failed_ingest_back_to_pending(admin_user, client_for, failed_assets):
    ingest, embedding = failed_assets
    client = client_for(admin_user)
    assert client.get(f"{URL}retry/{ingest.pk}/").status_code == 405  # state changes only by POST

    response = client.post(f"{URL}retry/{ingest.pk}/", follow=True)
    assert response.redirect_chain[-1][0] == URL
    ingest.refresh_from_db()
    assert (ingest.status, ingest.error, ingest.processing_attempts) == (Status.PENDING, "", 0)
    assert "Retrying ingest of" in response.content.decode()
    embedding.refresh_from_db()
    assert embedding.embedding_status == EmbeddingStatus.FAILED  # only the one asked for

    again = client.post(f"{URL}retry/{ingest.pk}/", follow=True).content.decode()
    assert "nothing to retry" in again


def test_retry_of_a_failed_embedding_asks_for_vectors_only(admin_user, client_for, failed_assets):
    _, embedding = failed_assets
    client_for(admin_user).post(f"{URL}retry/{embedding.pk}/")
    embedding.refresh_from_db()
    assert embedding.status == Status.READY
    assert (embedding.embedding_status, embedding.embedding_error) == (EmbeddingStatus.PENDING, "")


def test_retry_all_failed(admin_user, client_for, failed_assets):
    page = client_for(admin_user).post(f"{URL}retry-all/", follow=True).content.decode()
    assert "Retrying 1 failed ingest(s) and 1 failed embedding(s)." in page
    assert not Asset.objects.filter(status=Status.FAILED).exists()
    assert not Asset.objects.filter(embedding_status=EmbeddingStatus.FAILED).exists()
    assert 'data-testid="system-failures-none"' in page


def test_queue_depth_is_the_llen_of_the_queue_on_the_broker(admin_user, client_for, settings, monkeypatch):
    # Queues of this test's own that no worker consumes, so their depths hold still: Celery
    # messages on a bulk queue's list, query-time requests on the realtime lanes' lists.
    queue = f"realtime-admin-test-{os.getpid()}"
    settings.REALTIME_QUEUE = queue
    lanes = [rpc.lane_key(client.TEXT_LANES["text"]), rpc.lane_key(client.RERANK_LANE)]
    for n in range(3):
        app.send_task("workers.nothing", args=[n], queue="embed-admin-test")
    with app.connection_for_write() as conn:
        redis = conn.default_channel.client
        redis.lpush(lanes[0], "waiting", "waiting")
        redis.lpush(lanes[1], "waiting")
    try:
        with app.connection_for_read() as conn:
            llen = conn.default_channel.client.llen("embed-admin-test")
        monkeypatch.setattr(status, "queue_names", lambda: ("ingest", "analyse", "embed-admin-test", queue))
        page = client_for(admin_user).get(URL).content.decode()
    finally:
        with app.connection_for_write() as conn:
            conn.default_channel.client.delete("embed-admin-test", *lanes)
    assert llen == 3
    assert 'data-testid="system-queue-embed-admin-test" data-depth="3"' in page
    assert f'data-testid="system-queue-{queue}" data-depth="3"' in page


def test_services_say_external_when_settings_point_elsewhere(admin_user, client_for, settings):
    settings.DATABASE_EMBEDDED = False
    settings.BROKER_EMBEDDED = False
    page = client_for(admin_user).get(URL).content.decode()
    assert '<tr data-testid="system-database" data-embedded="false">' in page
    assert '<tr data-testid="system-broker" data-embedded="false">' in page
    services = _row(page, "system-services")
    assert "external PostgreSQL" in services and "external Redis" in services
    assert "embedded PostgreSQL" not in services and "embedded Redis" not in services


def test_a_broker_outage_shows_as_no_worker_and_unknown_depths(admin_user, client_for, monkeypatch, tmp_path):
    # A socket nobody listens on: a real connection failure, not a simulated one.
    monkeypatch.setattr(app.conf, "broker_write_url", f"redis+socket://{tmp_path}/absent.sock")
    response = client_for(admin_user).get(URL)
    assert response.status_code == 200
    page = response.content.decode()
    assert "No worker answered (broker unreachable)" in _row(page, "system-workers-none")
    assert 'data-testid="system-queue-ingest" data-depth=""' in page
    assert "down" in _row(page, "system-broker")
