import pytest

from mediavault.celery import app

pytestmark = pytest.mark.django_db


def test_healthz_is_503_when_the_broker_is_unreachable(client, monkeypatch, tmp_path):
    # A socket nobody listens on: a real connection failure, not a simulated one.
    monkeypatch.setattr(app.conf, "broker_write_url", f"redis+socket://{tmp_path}/absent.sock")
    response = client.get("/healthz")
    body = response.json()
    assert response.status_code == 503
    assert body["database"]["ok"] is True
    assert body["database"]["pgvector"]
    assert body["broker"]["ok"] is False
    assert body["worker"]["ok"] is False


@pytest.mark.worker
def test_healthz_is_200_with_a_real_worker(client, celery_worker):
    response = client.get("/healthz")
    body = response.json()
    assert response.status_code == 200, body
    queues = next(iter(body["worker"]["workers"].values()))
    assert queues == ["embed", "ingest", "realtime"]


def test_healthz_says_whether_services_work_but_not_where_they_are(client):
    body = client.get("/healthz").json()
    assert body["database"]["ok"] is True and body["database"]["embedded"] is True
    assert body["broker"]["ok"] is True
    assert "where" not in body["database"] and "where" not in body["broker"]
