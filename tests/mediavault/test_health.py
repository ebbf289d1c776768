"""/healthz: a verdict for anyone from one query and one broker round trip (workers' heartbeats, no
broadcast that waits for replies); the details only for staff."""

from contextlib import contextmanager

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from mediavault.celery import app

pytestmark = pytest.mark.django_db

VERDICT_ONLY = {"status", "database", "broker", "worker"}


@contextmanager
def no_broadcasts():
    def refuse(*args, **kwargs):
        raise AssertionError("/healthz must not wait on a broadcast to the workers")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(app.control, "inspect", refuse)
        patch.setattr(app.control, "ping", refuse)
        yield


def test_healthz_is_503_when_the_broker_is_unreachable(client, monkeypatch, tmp_path):
    # A socket nobody listens on: a real connection failure, not a simulated one.
    absent = f"redis+socket://{tmp_path}/absent.sock"
    monkeypatch.setattr(app.conf, "broker_write_url", absent)
    monkeypatch.setattr(app.conf, "broker_read_url", absent)
    with no_broadcasts():
        response = client.get("/healthz")
    body = response.json()
    assert response.status_code == 503
    assert body == {"status": "degraded", "database": {"ok": True}, "broker": {"ok": False}, "worker": {"ok": False}}


@pytest.mark.worker
def test_healthz_is_200_with_a_real_worker_and_costs_one_query(client, admin_user, celery_worker, realtime_process):
    with no_broadcasts(), CaptureQueriesContext(connection) as queries:
        response = client.get("/healthz")
    assert response.status_code == 200, response.json()
    assert set(response.json()) == VERDICT_ONLY
    assert len(queries) == 1  # the database check; the workers come from their heartbeats

    client.force_login(admin_user)
    body = client.get("/healthz").json()
    workers = body["worker"]["workers"]
    assert workers[celery_worker.hostname] == ["analyse", "embed", "ingest"]
    assert workers[realtime_process.hostname] == ["realtime"]  # the query-time worker, a process of its own
    assert all(body["worker"]["queues"].values())


def test_healthz_says_whether_services_work_but_only_staff_learn_more(client, alice):
    body = client.get("/healthz").json()
    assert set(body) == VERDICT_ONLY
    assert body["database"] == {"ok": True} and body["broker"] == {"ok": True}
    client.force_login(alice)
    body = client.get("/healthz").json()
    assert body["database"]["embedded"] is True and body["database"]["pgvector"]
    assert "where" in body["database"] and "models" in body
