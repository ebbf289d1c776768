"""Inference down: search names the missing signals and still answers from the others."""

import pytest

from assets import actions
from tests.conftest import make_jpeg, upload_bytes

pytestmark = pytest.mark.django_db


def test_semantic_signals_time_out_and_keyword_results_still_come(alice, api_for, settings):
    settings.REALTIME_QUEUE = "realtime-nobody-listens"  # a real broker, no consumer: a real timeout
    settings.REALTIME_TIMEOUT_S = 0.3
    asset = actions.upload_asset(
        alice, upload_bytes(make_jpeg(), "IMG_5195.jpg"), "IMG_5195.jpg", actions.AssetOptions()
    ).asset
    # Two words, not one identifier: BM25 answers them.
    body = api_for(alice).get("/api/v1/search/", {"q": "IMG_5195 jpg", "rerank": "true"}).json()
    assert [r["asset"]["id"] for r in body["results"]] == [asset.pk]
    assert set(body["degraded"]) == {
        "semantic_text: worker timeout", "semantic_image: worker timeout", "rerank: worker timeout"
    }
    assert body["results"][0]["explanation"]["signals"]["keyword"]["rank"] == 1
