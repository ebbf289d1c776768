"""The per-request connection check (mediavault.postgres): no query for a live idle connection, a
real check and a fresh connection for one the server has ended."""

from __future__ import annotations

import select
import time

import psycopg
import pytest
from django.db import connection

from mediavault.postgres.base import DatabaseWrapper

pytestmark = pytest.mark.django_db(transaction=True)  # the check only skips the query outside a transaction


def _backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def _start_request() -> None:
    connection.health_check_done = False
    connection.close_if_health_check_failed()


def test_a_live_idle_connection_is_kept_without_a_query(monkeypatch):
    pid = _backend_pid()

    def no_query(self):
        raise AssertionError("the live connection was checked with a query")

    monkeypatch.setattr(DatabaseWrapper, "is_usable", no_query)
    _start_request()
    monkeypatch.undo()
    assert connection.connection is not None and _backend_pid() == pid


def test_a_session_the_server_ended_is_replaced_before_the_next_query():
    pid = _backend_pid()
    raw = connection.connection
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    with psycopg.connect(**params, autocommit=True) as other:
        assert other.execute("SELECT pg_terminate_backend(%s)", [pid]).fetchone()[0]
    deadline = time.monotonic() + 5
    while not select.select([raw.fileno()], [], [], 0.1)[0]:  # the server's notice arrives
        assert time.monotonic() < deadline, "the terminated session's socket never became readable"
    _start_request()
    assert connection.connection is None  # closed by the check, not by a failing query
    assert _backend_pid() != pid
