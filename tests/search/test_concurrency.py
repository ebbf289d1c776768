"""Search statements run side by side on their own connections, except inside a transaction."""

import threading

import pytest
from django.db import connection, transaction

from search import concurrency


def _backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def _recorder(seen: list, barrier: threading.Barrier | None = None):
    def job():
        if barrier is not None:
            barrier.wait(timeout=10)  # proves the jobs overlap: one alone would time out here
        seen.append((threading.current_thread().name, _backend_pid()))

    return job


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_jobs_overlap_on_separate_connections():
    seen: list = []
    barrier = threading.Barrier(3)
    concurrency.run_all([_recorder(seen, barrier) for _ in range(3)])
    assert len({pid for _, pid in seen}) == 3
    assert _backend_pid() not in {pid for _, pid in seen}
    assert all(name.startswith("search-sql") for name, _ in seen)


@pytest.mark.django_db(transaction=True)
def test_inside_a_transaction_jobs_run_here_and_see_its_rows():
    seen: list = []
    with transaction.atomic():
        here = _backend_pid()
        concurrency.run_all([_recorder(seen) for _ in range(3)])
    assert {pid for _, pid in seen} == {here}
    assert {name for name, _ in seen} == {threading.current_thread().name}


@pytest.mark.django_db(transaction=True)
def test_a_failing_job_raises_in_the_caller():
    def broken():
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 / 0")

    with pytest.raises(Exception, match="division by zero"):
        concurrency.run_all([broken, lambda: None])
    # The pooled connection that failed is still usable afterwards.
    seen: list = []
    concurrency.run_all([_recorder(seen) for _ in range(3)])
    assert len(seen) == 3


@pytest.mark.django_db(transaction=True)
def test_one_thread_setting_runs_in_order(settings):
    settings.SEARCH_SQL_THREADS = 1
    order: list = []
    concurrency.run_all([lambda i=i: order.append((i, threading.current_thread().name)) for i in range(3)])
    assert order == [(i, threading.current_thread().name) for i in range(3)]


@pytest.mark.django_db(transaction=True)
def test_searches_waiting_on_inference_hold_no_database_thread(alice, settings):
    """Three searches wait for query vectors that do not come while another hybrid search runs: with
    every database thread of the pool free for statements, that search answers at once."""
    from concurrent.futures import ThreadPoolExecutor

    from assets.models import Asset
    from search.service import Encoder, SearchRequest, search
    from tests.search.conftest import make_asset
    from workers.client import InferenceUnavailable, QueryVector

    make_asset(alice, description="lighthouse at dusk")
    released = threading.Event()
    waiting = threading.Semaphore(0)

    class StalledEncoder(Encoder):
        def text(self, query, kind):
            waiting.release()
            released.wait(timeout=30)
            raise InferenceUnavailable("worker timeout")

    class QuickEncoder(Encoder):
        def text(self, query, kind):
            return QueryVector("no-such-model", [1.0, 0.0, 0.0])

    visible = Asset.objects.visible_to(alice)
    assert concurrency.settings.SEARCH_SQL_THREADS >= 2

    def request(search_request, encoder):
        """One web request on its own thread (and connection), closed when it ends, as Django does."""
        try:
            return search(visible, search_request, encoder, user=alice)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=4) as requests:
        stalled = [requests.submit(request, SearchRequest(query="lighthouse", mode="semantic"), StalledEncoder())
                   for _ in range(3)]
        for _ in range(6):  # two encodings each (text and CLIP), all started
            assert waiting.acquire(timeout=10)
        try:
            answered = requests.submit(request, SearchRequest(query="lighthouse"), QuickEncoder())
            quick = answered.result(timeout=5)  # not behind the stalled searches
            assert len(quick.hits) == 1 and "keyword" in quick.signals_run
        finally:
            released.set()
        for future in stalled:
            assert set(future.result(timeout=30).degraded) == {"semantic_text", "semantic_image"}


@pytest.mark.django_db(transaction=True)
def test_query_encodings_on_threads_of_their_own_leave_no_database_connection_behind(alice):
    # search_eval's encoder answers in the process and reads the database on the encoding thread;
    # a connection left on a finished thread stays open until garbage collection and kept the
    # evaluation's database from being dropped.
    import gc

    from django.db import connection

    from assets.models import ActiveModel, Asset
    from search.service import Encoder, SearchRequest, search
    from workers.client import QueryVector

    class ReadingEncoder(Encoder):
        def text(self, query, kind):
            ActiveModel.objects.count()
            return QueryVector(f"test:{kind}", [1.0, 0.0, 0.0])

    def sessions() -> int:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                           " AND pid <> pg_backend_pid()")
            return cursor.fetchone()[0]

    before = sessions()
    gc.disable()  # nothing may be closed by the collector meanwhile
    try:
        for _ in range(3):
            search(Asset.objects.visible_to(alice), SearchRequest(query="harbour", mode="semantic"),
                   ReadingEncoder(), user=alice)
        concurrency.close_connections()  # the statement threads' own (they live on)
        assert sessions() <= before
    finally:
        gc.enable()
