"""What the analysers found, in the API's asset representation: the searchable text (a person's correction
wins), the machine's text, whether it was corrected, the model and any error; read-only, and listed at a
constant number of queries (the analyses are prefetched)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from assets import actions
from assets.actions import pipeline
from assets.models import Analysis, Visibility
from tests.portal.conftest import make_asset

pytestmark = pytest.mark.django_db


def analysed(asset, **texts):
    claim = pipeline.claim_analysis(10, [asset.pk])
    found = [pipeline.Finding(asset.pk, name, f"{name}-v1", text=text) for name, text in texts.items()]
    found.append(pipeline.Finding(asset.pk, "labels", "labels-v1", error="labels failed: model unavailable"))
    pipeline.finish_analysis(claim, found)
    return asset


def test_findings_in_the_asset_detail(api_for, alice, bob, team):
    asset = analysed(make_asset(alice, visibility=Visibility.TEAM, team=team), colours="red", dates="June summer 2008")
    actions.correct_analysis(alice, asset.pk, "colours", "crimson")

    body = api_for(bob).get(f"/api/v1/assets/{asset.pk}/").json()
    assert body["findings"] == {
        "colours": {"text": "crimson", "machine_text": "red", "corrected": True, "model_id": "colours-v1", "error": ""},
        "dates": {"text": "June summer 2008", "machine_text": "June summer 2008", "corrected": False,
                  "model_id": "dates-v1", "error": ""},
        "labels": {"text": "", "machine_text": "", "corrected": False, "model_id": "labels-v1",
                   "error": "labels failed: model unavailable"},
    }
    never = make_asset(alice)  # never analysed: no findings
    assert api_for(alice).get(f"/api/v1/assets/{never.pk}/").json()["findings"] == {}


def test_findings_are_read_only(api_for, alice):
    asset = analysed(make_asset(alice), colours="red")
    response = api_for(alice).patch(f"/api/v1/assets/{asset.pk}/", {"findings": {"colours": {"text": "x"}},
                                                                    "title": "Renamed"}, format="json")
    assert response.status_code == 200
    assert response.json()["title"] == "Renamed"
    assert response.json()["findings"]["colours"]["text"] == "red"
    assert Analysis.objects.get(asset=asset, analyser="colours").corrected_text is None


def test_listing_costs_the_same_queries_however_many_findings(api_for, alice):
    client = api_for(alice)
    analysed(make_asset(alice), colours="red")
    client.get("/api/v1/assets/")
    with CaptureQueriesContext(connection) as few:
        assert len(client.get("/api/v1/assets/").json()["results"]) == 1
    for n in range(12):
        analysed(make_asset(alice), colours=f"c{n}", dates=f"d{n}", text_in_image=f"t{n}")
    with CaptureQueriesContext(connection) as many:
        results = client.get("/api/v1/assets/").json()["results"]
    assert len(results) == 13 and all(len(r["findings"]) >= 2 for r in results)
    assert len(many) == len(few)
