"""Portal search pages: the header box, text search in each mode, search by image, "find similar",
explanations, degraded signals, pagination, empty states, and visibility on every path."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from assets import actions
from assets.models import ActiveModel, Asset, Embedding, EmbeddingStatus, Visibility
from search.bm25 import bm25_scores
from search.portal import degraded_notices
from tests.conftest import make_jpeg, upload_bytes, wait_for
from tests.portal.conftest import make_asset

pytestmark = pytest.mark.django_db


@pytest.fixture
def browser(client_for):
    """browser(user) -> a Django test client signed in as that user (None for anonymous)."""
    return client_for


@pytest.fixture
def no_worker(settings):
    """Query-time inference with nobody listening: a real (short) timeout, as when workers are down."""
    settings.REALTIME_TIMEOUT_S = 0.5
    settings.REALTIME_QUEUE = "realtime-nobody-listens"  # even if a session worker runs beside us


def upload(user, filename: str, *, colour=(200, 30, 30), **options) -> Asset:
    result = actions.upload_asset(
        user, upload_bytes(make_jpeg(colour), filename), filename, actions.AssetOptions(**options)
    )
    assert result.status == "created", result.reason
    return result.asset


def result_ids(response) -> list[int]:
    """Result ids in page order, from the HTML; they must agree with the view's context."""
    html = response.content.decode()
    ids = [int(pk) for pk in re.findall(r'data-result-id="(\d+)"', html)]
    assert ids == [result.asset.pk for result in response.context["results"]]
    # Each result carries the library card itself.
    assert [int(pk) for pk in re.findall(r'data-asset-id="(\d+)"', html)] == ids
    return ids


def card(html: str, asset_id: int) -> str:
    match = re.search(rf'<li class="search-result[^"]*" data-result-id="{asset_id}"[^>]*>(.*?)</details>', html,
                      flags=re.S)
    assert match, f"no result card for {asset_id}"
    return match.group(1)


def vectors(asset: Asset, image: list[float], text: list[float]) -> None:
    Embedding.objects.create(asset=asset, kind="image", model_id="test-clip", dim=len(image), vector=image)
    Embedding.objects.create(asset=asset, kind="text", model_id="test-text", dim=len(text), vector=text)


# --- Header box and access --------------------------------------------------------------------


def test_header_search_box_on_library_and_asset_pages(browser, alice):
    asset = make_asset(alice, title="harbour")
    for url in ("/", f"/assets/{asset.pk}/", "/upload/"):
        html = browser(alice).get(url).content.decode()
        form = re.search(r'<form class="header-search" role="search" method="get" action="(.*?)">(.*?)</form>',
                         html, flags=re.S)
        assert form, url
        assert form.group(1) == "/search/"
        assert '<label for="header-search-q" class="visually-hidden">Search assets</label>' in form.group(2)
        assert re.search(r'<input type="search" id="header-search-q" name="q"', form.group(2))


def test_header_box_submits_to_a_working_search(browser, alice):
    target = make_asset(alice, title="lighthouse at dusk")
    response = browser(alice).get("/search/", {"q": "lighthouse", "mode": "keyword"})
    assert response.status_code == 200
    assert result_ids(response) == [target.pk]


def test_pages_are_staff_only(browser, alice, team):
    asset = make_asset(alice, visibility=Visibility.ORGANISATION)
    outsider = get_user_model().objects.create_user(username="dora", password="x", is_staff=False)
    for url in ("/search/?q=x&mode=keyword", f"/assets/{asset.pk}/similar/"):
        anonymous = browser(None).get(url)
        assert anonymous.status_code == 302 and anonymous["Location"].startswith("/accounts/login/"), url
        assert browser(outsider).get(url).status_code == 403, url
    assert browser(None).post("/search/", {}).status_code == 302


# --- Keyword search and identifiers -----------------------------------------------------------


def test_keyword_search_finds_an_upload_by_its_file_name_identifier(browser, alice):
    target = upload(alice, "IMG_5195.jpg")
    decoy = upload(alice, "IMG_5196.jpg", colour=(10, 200, 10))
    page = browser(alice)
    response = page.get("/search/", {"q": "IMG_5195", "mode": "keyword"})
    assert response.status_code == 200
    assert result_ids(response)[0] == target.pk
    assert result_ids(page.get("/search/", {"q": "5195", "mode": "keyword"})) == [target.pk]
    assert result_ids(page.get("/search/", {"q": "5196", "mode": "keyword"})) == [decoy.pk]


def test_explanation_shows_the_keyword_score_and_rank(browser, alice):
    target = upload(alice, "IMG_5195.jpg")
    upload(alice, "IMG_5196.jpg", colour=(10, 200, 10))
    # Two words: not one identifier, so BM25 scores them.
    response = browser(alice).get("/search/", {"q": "IMG_5195 jpg", "mode": "keyword"})
    expected = dict(bm25_scores("IMG_5195 jpg", visible=Asset.objects.visible_to(alice), limit=10))
    html = card(response.content.decode(), target.pk)
    row = re.search(r'<tr data-signal="keyword">\s*<th scope="row">Keyword</th>\s*<td>(.*?)</td><td>#(\d+)</td>',
                    html)
    assert row, html
    assert row.group(1) == f"{expected[target.pk]:.3f}"
    assert row.group(2) == "1"
    assert re.search(r'data-signal="fused"><th scope="row">Fused', html)
    assert 'data-signal="semantic_text"' not in html  # keyword mode runs no semantic signal
    assert 'data-signal="rerank"' not in html


def test_filters_narrow_the_results(browser, alice, team):
    tagged = make_asset(alice, title="kayak one", tags=["lake"])
    make_asset(alice, title="kayak two", tags=["sea"])
    page = browser(alice)
    assert len(result_ids(page.get("/search/", {"q": "kayak", "mode": "keyword"}))) == 2
    response = page.get("/search/", {"q": "kayak", "mode": "keyword", "tag": "lake"})
    assert result_ids(response) == [tagged.pk]
    # The image form carries the active filters along.
    assert '<input type="hidden" name="tag" value="lake">' in response.content.decode()


def test_pagination_by_offset(browser, alice):
    assets = [make_asset(alice, title=f"lighthouse {'beam ' * i}") for i in range(5)]
    page = browser(alice)
    first = page.get("/search/", {"q": "lighthouse", "mode": "keyword", "limit": 2})
    html = first.content.decode()
    assert len(result_ids(first)) == 2
    assert "Results 1–2" in html
    assert 'href="?q=lighthouse&amp;mode=keyword&amp;limit=2&amp;offset=2" rel="next"' in html
    assert 'rel="prev"' not in html
    seen = result_ids(first)
    second = page.get("/search/", {"q": "lighthouse", "mode": "keyword", "limit": 2, "offset": 2})
    seen += result_ids(second)
    last = page.get("/search/", {"q": "lighthouse", "mode": "keyword", "limit": 2, "offset": 4})
    html = last.content.decode()
    seen += result_ids(last)
    assert sorted(seen) == sorted(a.pk for a in assets)
    assert "Results 5–5" in html and ">#5<" in html
    assert 'rel="next"' not in html
    assert 'href="?q=lighthouse&amp;mode=keyword&amp;limit=2&amp;offset=2" rel="prev"' in html


def test_result_pages_cost_the_same_queries_for_3_or_12_results(browser, alice, team):
    page = browser(alice)

    def queries_for(n: int) -> int:
        Asset.objects.all().delete()
        for i in range(n):
            make_asset(alice, title=f"harbour {i}", team=team, tags=["sea"])
        with CaptureQueriesContext(connection) as captured:
            response = page.get("/search/", {"q": "harbour", "mode": "keyword"})
        assert len(result_ids(response)) == n
        return len(captured)

    assert queries_for(3) == queries_for(12)


def test_empty_states(browser, alice):
    make_asset(alice, title="harbour")
    page = browser(alice)
    start = page.get("/search/").content.decode()
    assert "What are you looking for?" in start
    assert 'class="asset-grid search-grid"' not in start
    none = page.get("/search/", {"q": "zeppelin", "mode": "keyword"}).content.decode()
    assert "No matching assets" in none
    assert "Nothing you can see matches “zeppelin”" in none
    assert 'href="?q=zeppelin&amp;mode=hybrid">Try hybrid mode</a>' in none
    assert 'href="?q=zeppelin&amp;mode=semantic">Try semantic mode</a>' in none
    assert "Try keyword mode" not in none


# --- Visibility -------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["keyword", "hybrid"])
def test_charlie_never_sees_alices_private_asset(browser, alice, bob, charlie, team, mode, no_worker):
    private = make_asset(alice, title="kayak private", team=team)
    shared = make_asset(alice, title="kayak shared", visibility=Visibility.ORGANISATION)
    mine = make_asset(charlie, title="kayak charlie")
    response = browser(charlie).get("/search/", {"q": "kayak", "mode": mode})
    assert sorted(result_ids(response)) == sorted([shared.pk, mine.pk])
    assert "kayak private" not in response.content.decode()
    # Alice's own search finds it: the filter above is visibility, not a broken index.
    assert private.pk in result_ids(browser(alice).get("/search/", {"q": "kayak", "mode": "keyword"}))


def test_hybrid_search_names_degraded_signals_and_still_shows_keyword_results(browser, alice, no_worker):
    target = upload(alice, "IMG_5195.jpg")
    response = browser(alice).get("/search/", {"q": "IMG_5195 jpg", "mode": "hybrid", "rerank": "1"})
    assert response.status_code == 200
    assert result_ids(response)[0] == target.pk
    html = response.content.decode()
    assert "Semantic text search is unavailable right now: worker timeout; results use the other signals." in html
    assert "Semantic image search is unavailable right now: worker timeout; results use the other signals." in html
    assert "Reranking is unavailable right now: worker timeout; results are in their fused order, not reranked." in html
    assert 'data-signal="keyword"' in card(html, target.pk)
    assert ">Reranked<" not in html  # asked for, but it did not happen


def test_a_model_this_install_lacks_is_said_quietly_and_a_passing_fault_as_a_warning(browser, alice, no_worker):
    """An offline install without CLIP weights: every search would carry the same warning. The
    workers reported the model unavailable, so it is said once, folded, beside the results; the
    text model timing out is a passing fault and stays a warning. Asked-for reranking that this
    install lacks, and a search nothing else could answer, stay warnings too."""
    target = upload(alice, "IMG_5195.jpg")
    ActiveModel.objects.update_or_create(kind="image", defaults={
        "available": False, "reason": "weights for ViT-B-32/laion2b_s34b_b79k are not in the local cache"})
    page = browser(alice)
    html = page.get("/search/", {"q": "IMG_5195 jpg", "mode": "hybrid"}).content.decode()
    assert result_ids(page.get("/search/", {"q": "IMG_5195 jpg"}))[0] == target.pk
    lacking = re.search(r'<details class="search-lacking muted" data-testid="search-lacking">(.*?)</details>', html,
                        re.S)
    assert lacking, html
    assert "{#" not in html  # a template comment over two lines is printed, not hidden
    assert "Not available in this install: semantic image search</summary>" in lacking.group(1)
    assert ("Semantic image search is not available in this install: weights for ViT-B-32/laion2b_s34b_b79k are "
            "not in the local cache; results use the other signals.") in lacking.group(1)
    warning = re.search(r'<div class="alert alert--warning search-degraded".*?</div>\s*</div>', html, re.S).group(0)
    assert "Semantic text search is unavailable right now: worker timeout" in warning
    assert "Semantic image" not in warning

    # Reranking is asked for: that it cannot happen here is a warning whatever the reason.
    assert degraded_notices({"rerank": "model unavailable: not downloaded"}, others_ran=True) == (
        ["Reranking is unavailable right now: model unavailable: not downloaded; results are in their fused order, "
         "not reranked."], [])
    ActiveModel.objects.update_or_create(kind="text", defaults={"available": False, "reason": "not downloaded"})
    alone = page.get("/search/", {"q": "lighthouse", "mode": "semantic"}).content.decode()
    assert 'data-testid="search-lacking"' not in alone  # nothing answered: that is no quiet matter
    assert "Semantic image search is unavailable right now: model unavailable: weights for ViT-B-32" in alone


def test_semantic_mode_with_no_worker_says_search_could_not_run(browser, alice, no_worker):
    make_asset(alice, title="lighthouse")
    html = browser(alice).get("/search/", {"q": "lighthouse", "mode": "semantic"}).content.decode()
    assert "Search could not run right now" in html
    assert "no other signal could answer this search" in html
    assert 'href="?q=lighthouse&amp;mode=keyword">Search in keyword mode</a>' in html


# --- Search by image --------------------------------------------------------------------------


def test_image_search_rejects_a_file_that_is_not_an_image(browser, alice):
    page = browser(alice)
    response = page.post("/search/", {"image": upload_bytes(b"just some words, not a picture", "notes.jpg")})
    assert response.status_code == 400
    html = response.content.decode()
    assert "“notes.jpg” cannot be used for search: unsupported file type: not a JPEG, PNG" in html
    assert 'role="alert"' in html
    assert "search-grid" not in html
    missing = page.post("/search/", {}).content.decode()
    assert "Choose an image (or drop one here) to search with." in missing


def test_image_search_renders_results_or_names_the_missing_signal(browser, alice, charlie, no_worker):
    response = browser(alice).post("/search/", {"image": upload_bytes(make_jpeg(), "query.jpg")})
    assert response.status_code == 200
    html = response.content.decode()
    assert "for your image <strong class=\"search-summary__name\">query.jpg</strong>" in html
    assert 'src="data:image/jpeg;base64,' in html  # the query image is shown, not stored
    assert "Image similarity search is unavailable right now: worker timeout" in html


def test_asset_page_links_to_find_similar(browser, alice):
    asset = make_asset(alice)
    html = browser(alice).get(f"/assets/{asset.pk}/").content.decode()
    assert f'<a class="button" href="/assets/{asset.pk}/similar/">Find similar assets</a>' in html


# --- Find similar -----------------------------------------------------------------------------


@pytest.fixture
def neighbours(alice, charlie, team):
    """Four assets with hand-made vectors: alice's private one is the nearest to the shared one."""
    shared = make_asset(alice, title="shared", visibility=Visibility.ORGANISATION)
    private = make_asset(alice, title="alice private twin", team=team)
    charlies = make_asset(charlie, title="charlie near")
    far = make_asset(alice, title="org far", visibility=Visibility.ORGANISATION)
    # These hand-made models are the active ones (a worker from another test may have reported its own).
    for kind, model_id in (("image", "test-clip"), ("text", "test-text")):
        ActiveModel.objects.update_or_create(kind=kind, defaults={"available": True, "model_id": model_id})
    vectors(shared, [1, 0, 0, 0], [1, 0, 0])
    vectors(private, [0.99, 0.1, 0, 0], [0.99, 0.1, 0])
    vectors(charlies, [0.8, 0.6, 0, 0], [0.8, 0.6, 0])
    vectors(far, [0, 0, 1, 0], [0, 0, 1])
    return {"shared": shared, "private": private, "charlie": charlies, "far": far}


def test_similar_shows_only_visible_assets(browser, alice, charlie, neighbours):
    shared = neighbours["shared"]
    response = browser(charlie).get(f"/assets/{shared.pk}/similar/")
    assert response.status_code == 200
    assert result_ids(response) == [neighbours["charlie"].pk, neighbours["far"].pk]
    assert "alice private twin" not in response.content.decode()
    ranked = card(response.content.decode(), neighbours["charlie"].pk)
    assert re.search(r'data-signal="image">\s*<th scope="row">Image similarity</th>\s*<td>0\.800</td><td>#1</td>',
                     ranked)
    # Alice sees her private twin first: the exclusion above is visibility, not distance.
    assert result_ids(browser(alice).get(f"/assets/{shared.pk}/similar/"))[0] == neighbours["private"].pk


def test_similar_is_404_for_an_asset_one_cannot_see(browser, charlie, neighbours):
    assert browser(charlie).get(f"/assets/{neighbours['private'].pk}/similar/").status_code == 404
    assert browser(charlie).get("/assets/999999/similar/").status_code == 404


def test_similar_says_plainly_when_the_asset_has_no_vectors(browser, alice, neighbours):
    fresh = make_asset(alice, title="fresh upload")
    html = browser(alice).get(f"/assets/{fresh.pk}/similar/").content.decode()
    assert "This asset has no search vectors yet" in html
    assert "vector status: pending" in html
    assert "search-grid" not in html


def test_similar_paginates(browser, alice, neighbours):
    page = browser(alice)
    url = f"/assets/{neighbours['shared'].pk}/similar/"
    first = page.get(url, {"limit": 1})
    assert result_ids(first) == [neighbours["private"].pk]
    assert 'href="?limit=1&amp;offset=1" rel="next"' in first.content.decode()
    second = page.get(url, {"limit": 1, "offset": 1})
    assert result_ids(second) == [neighbours["far"].pk]
    assert 'rel="next"' not in second.content.decode()


# --- With a real worker: the semantic signals answer --------------------------------------------


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_hybrid_search_and_similar_through_a_real_worker(celery_worker, alice):
    puppy = upload(alice, "IMG_0001.jpg", colour=(10, 200, 10), description="a puppy playing fetch in the park")
    car = upload(alice, "IMG_0002.jpg", colour=(200, 10, 10), description="a red sports car on a highway")
    for asset in (puppy, car):
        done = wait_for(lambda a=asset: Asset.objects.filter(
            pk=a.pk, embedding_status__in=[EmbeddingStatus.READY, EmbeddingStatus.FAILED]).first(), timeout=90)
        assert done.embedding_status == EmbeddingStatus.READY, done.embedding_error
    page = Client()
    page.force_login(alice)

    response = page.get("/search/", {"q": "dog", "mode": "semantic"})
    html = response.content.decode()
    assert "unavailable right now" not in html and 'data-testid="search-lacking"' not in html
    assert result_ids(response)[0] == puppy.pk  # MiniLM: "dog" reads closer to the puppy than the car
    assert re.search(r'data-signal="semantic_text">\s*<th scope="row">Semantic text</th>\s*<td>[0-9.]+</td><td>#1</td>',
                     card(html, puppy.pk))

    reranked = page.get("/search/", {"q": "dog", "mode": "semantic", "rerank": "1"}).content.decode()
    assert "unavailable right now" not in reranked
    assert ">Reranked<" in reranked
    assert re.search(r'data-signal="rerank"><th scope="row">Rerank</th><td colspan="2">[0-9.]+</td>',
                     card(reranked, car.pk))

    similar = page.get(f"/assets/{puppy.pk}/similar/")
    assert result_ids(similar) == [car.pk]
    assert "unavailable right now" not in similar.content.decode()
