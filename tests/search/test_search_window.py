"""Search ranks at most 1,000 results deep (pgvector's largest hnsw.ef_search): the API refuses a page past
that with a clear 400, the portal moves such a page back and says so, and no request reaches pgvector with
an ef_search it refuses (that was a 500)."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction

from assets.models import Asset
from search.vectors import MAX_EF_SEARCH, nearest

pytestmark = pytest.mark.django_db


def test_api_refuses_a_page_past_the_ranked_results(alice, api_for):
    response = api_for(alice).get("/api/v1/search/", {"q": "x", "mode": "semantic", "offset": 977})
    assert response.status_code == 400
    assert "offset + limit may be at most 1000" in response.json()["offset"][0]
    assert api_for(alice).get("/api/v1/search/", {"q": "x", "offset": 5000, "limit": 1}).status_code == 400


def test_api_serves_the_last_page_inside_the_window(alice, api_for):
    response = api_for(alice).get("/api/v1/search/", {"q": "x", "mode": "keyword", "offset": 976, "limit": 24})
    assert response.status_code == 200, response.content
    assert response.json()["offset"] == 976


def test_nearest_never_asks_pgvector_for_more_than_it_allows():
    with connection.cursor() as cursor:
        cursor.execute("SELECT '[1,2,3]'::vector")  # loads pgvector in this session: its limits apply
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL hnsw.ef_search = {MAX_EF_SEARCH + 1}")
    assert nearest("text", "some-model", [0.1] * 8, visible=Asset.objects.all(), limit=5000) == []


@pytest.mark.parametrize(
    ("offset", "shown_offset", "shown_limit", "notice"),
    [(5000, 976, 24, True), (1000, 976, 24, True), (990, 990, 10, False), (48, 48, 24, False)],
)
def test_portal_moves_a_page_past_the_window_back(offset, shown_offset, shown_limit, notice, alice, client_for):
    response = client_for(alice).get("/search/", {"q": "x", "mode": "keyword", "offset": offset})
    assert response.status_code == 200
    params = response.context["params"]
    assert (params.offset, params.limit) == (shown_offset, shown_limit)
    assert ("Search ranks the best 1,000 results" in response.content.decode()) is notice


@pytest.mark.django_db(transaction=True)  # outside a transaction: SET LOCAL must end with the query
def test_nearest_sends_its_scan_settings_with_the_query_and_they_end_with_it():
    sent = []

    def record(execute, sql, params, many, context):
        sent.append(sql if isinstance(sql, str) else sql.as_string(context["connection"].connection))
        return execute(sql, params, many, context)

    with connection.cursor() as cursor:
        cursor.execute("SELECT '[1,2,3]'::vector")  # pgvector loaded: its settings exist in this session
        cursor.execute("SHOW hnsw.ef_search")
        default = cursor.fetchone()[0]
    with connection.execute_wrapper(record):
        assert nearest("text", "some-model", [0.1] * 8, visible=Asset.objects.all(), limit=24) == []
    assert len(sent) == 1  # one round trip
    assert "SET LOCAL hnsw.ef_search = 400;" in sent[0] and "SET LOCAL hnsw.iterative_scan = relaxed_order;" in sent[0]
    with connection.cursor() as cursor:
        cursor.execute("SHOW hnsw.ef_search")
        assert cursor.fetchone()[0] == default != "400"
        # What nearest relies on: parameters bound client-side, the statements sent as one simple
        # query, so a SET LOCAL before the SELECT holds for it.
        cursor.execute("SET LOCAL hnsw.ef_search = 77; SELECT current_setting('hnsw.ef_search'), %s", ["bound"])
        while cursor.description is None and cursor.nextset():
            pass
        assert cursor.fetchall() == [("77", "bound")]
