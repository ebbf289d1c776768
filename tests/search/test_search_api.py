"""Search API through a real worker: every signal, mode and door returns only what the caller may see."""

import pytest

from assets import actions
from assets.models import Asset, EmbeddingStatus, Visibility
from tests.conftest import make_jpeg, upload_bytes, wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]

DOCS = {
    "private": ("a red kayak on a calm mountain lake", Visibility.PRIVATE, (200, 20, 20)),
    "team": ("a kayak race on a river", Visibility.TEAM, (20, 200, 20)),
    "organisation": ("kayak paddles for sale in a shop", Visibility.ORGANISATION, (20, 20, 200)),
}


@pytest.fixture
def corpus(celery_worker, alice, team):
    ids = {}
    for key, (text, visibility, colour) in DOCS.items():
        options = actions.AssetOptions(
            description=text, visibility=visibility, team=team if visibility == Visibility.TEAM else None
        )
        name = f"KAYAK_{key}.jpg"
        ids[key] = actions.upload_asset(alice, upload_bytes(make_jpeg(colour), name), name, options).asset.pk

    def embedded():
        states = set(Asset.objects.filter(pk__in=ids.values()).values_list("embedding_status", flat=True))
        return states == {EmbeddingStatus.READY}

    wait_for(embedded, timeout=120)
    return ids


EXPECTED = {
    "alice": {"private", "team", "organisation"},
    "bob": {"team", "organisation"},
    "charlie": {"organisation"},
    "admin_user": {"private", "team", "organisation"},
}


def _ids(response) -> set[int]:
    assert response.status_code == 200, response.content
    return {r["asset"]["id"] for r in response.json()["results"]}


@pytest.mark.parametrize("mode", ["keyword", "semantic", "hybrid"])
def test_every_mode_returns_exactly_the_visible_matches(corpus, mode, api_for, request):
    for actor, allowed in EXPECTED.items():
        user = request.getfixturevalue(actor)
        # Weak matches too: the kayak race is only a weak keyword match for a red kayak on a lake.
        body = api_for(user).get("/api/v1/search/", {"q": "red kayak on a lake", "mode": mode, "limit": 50,
                                                     "weak": "true"})
        found = _ids(body)
        assert found <= {corpus[k] for k in allowed}, (actor, mode)
        assert found == {corpus[k] for k in allowed}, (actor, mode, body.json()["degraded"])
        if actor in ("alice", "admin_user"):
            assert body.json()["results"][0]["asset"]["id"] == corpus["private"], (actor, mode)


def test_explanations_name_each_signal_with_score_and_rank(corpus, alice, api_for):
    body = api_for(alice).get("/api/v1/search/", {"q": "red kayak on a lake"}).json()
    assert body["degraded"] == []
    top = body["results"][0]
    signals = top["explanation"]["signals"]
    assert set(signals) == {"keyword", "semantic_text", "semantic_image"}
    assert signals["keyword"]["rank"] == 1 and signals["keyword"]["score"] > 0
    assert top["explanation"]["fused"] > 0
    assert top["explanation"]["rerank"] is None


def test_rerank_scores_the_top_results_through_the_worker(corpus, alice, api_for):
    body = api_for(alice).get("/api/v1/search/", {"q": "kayak", "rerank": "true"}).json()
    assert body["degraded"] == []
    assert all(0.0 <= r["explanation"]["rerank"] <= 1.0 for r in body["results"])
    scores = [r["explanation"]["rerank"] for r in body["results"]]
    assert scores == sorted(scores, reverse=True)


@pytest.mark.parametrize("actor", list(EXPECTED))
def test_image_search_and_similar_only_show_visible_assets(corpus, actor, api_for, request):
    user = request.getfixturevalue(actor)
    allowed = {corpus[k] for k in EXPECTED[actor]}
    client = api_for(user)
    image = upload_bytes(make_jpeg((190, 30, 30)), "query.jpg")
    found = _ids(client.post("/api/v1/search/", {"image": image}, format="multipart"))
    assert found == allowed
    similar = client.get(f"/api/v1/assets/{corpus['organisation']}/similar/")
    assert _ids(similar) == allowed - {corpus["organisation"]}
    hidden = set(corpus.values()) - allowed
    for asset_id in hidden:
        assert client.get(f"/api/v1/assets/{asset_id}/similar/").status_code == 404


def test_filters_narrow_every_signal(corpus, alice, api_for):
    found = _ids(api_for(alice).get("/api/v1/search/", {"q": "kayak", "team": "studio"}))
    assert found == {corpus["team"]}


def test_bad_requests_get_clear_errors(corpus, alice, api_for):
    client = api_for(alice)
    assert client.get("/api/v1/search/", {"q": ""}).status_code == 400
    assert client.get("/api/v1/search/", {"q": "x", "mode": "telepathy"}).status_code == 400
    assert client.get("/api/v1/search/", {"q": "x", "limit": "0"}).status_code == 400
    not_image = upload_bytes(b"<html>hello</html>", "q.jpg")
    response = client.post("/api/v1/search/", {"image": not_image}, format="multipart")
    assert response.status_code == 400 and "image" in response.json()
    assert api_for(None).get("/api/v1/search/", {"q": "kayak"}).status_code in (401, 403)
