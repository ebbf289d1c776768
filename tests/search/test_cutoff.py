"""Where strong matches end: keyword coverage, calibrated similarity cutoffs, weaker matches on request."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from assets.actions import pipeline
from assets.models import Asset, Embedding, Status
from search.bm25 import coverage_for_ids
from search.service import Encoder, SearchRequest, search
from tests.search.conftest import make_asset
from workers.client import InferenceUnavailable, QueryVector

pytestmark = pytest.mark.django_db

MODEL = "test:cutoff-model"


class FixedEncoder(Encoder):
    """The query's text vector is fixed; the picture model is down."""

    def __init__(self, vector, model_id=MODEL):
        self.vector, self.model_id = vector, model_id

    def text(self, query, kind):
        if kind != "text":
            raise InferenceUnavailable("model unavailable")
        return QueryVector(self.model_id, self.vector)


def _with_vector(asset, vector, model_id=MODEL):
    Embedding.objects.create(asset=asset, kind="text", model_id=model_id, dim=len(vector), vector=vector)
    return asset


@pytest.fixture
def calibrated(settings, tmp_path):
    path = tmp_path / "cutoffs.json"
    path.write_text(json.dumps({MODEL: {"similarity": 0.5}}))
    settings.SEARCH_CUTOFFS_FILE = path
    return path


def test_coverage_weighs_each_query_word_by_idf_and_counts_unknown_words_in_full(alice):
    both = make_asset(alice, description="red kayak")
    red = make_asset(alice, description="red car")
    for n in range(8):
        make_asset(alice, description=f"kayak number {n}")
    coverage = coverage_for_ids("red kayak", [both.pk, red.pk])
    assert coverage[both.pk] == pytest.approx(1.0)
    assert 0.5 < coverage[red.pk] < 1.0  # "red" is the rarer, weightier word
    assert coverage_for_ids("red zebra", [red.pk])[red.pk] < 0.5  # nobody wrote "zebra"


def test_words_wrapped_around_a_request_do_not_count_against_its_matches(alice):
    """'me', 'my', 'from', 'photos' are in no document here, and a word nobody wrote counts in full
    against every match: kept in the query, they made the dog a weak match."""
    dog = make_asset(alice, description="dog on the grass")
    for n in range(5):
        make_asset(alice, description=f"cat number {n}")
    for query in ("show me photos of my dog", "pictures of the dog", "find my dog"):
        response = search(Asset.objects.visible_to(alice), SearchRequest(query=query, mode="keyword"), user=alice)
        assert [hit.asset.pk for hit in response.hits] == [dog.pk], query
        assert response.strong == 1


def test_a_word_held_by_few_documents_lists_only_those_and_the_rest_are_not_matches(alice):
    canon = [make_asset(alice, original_filename=f"a{n}.jpg", camera_make="Canon") for n in range(5)]
    for n in range(14):
        make_asset(alice, original_filename=f"b{n}.jpg", camera_make="NIKON")
    response = search(Asset.objects.visible_to(alice), SearchRequest(query="Canon", mode="keyword"), user=alice)
    assert {hit.asset.pk for hit in response.hits} == {asset.pk for asset in canon}
    assert (response.strong, response.weak) == (5, 0)
    assert response.hits[0].explanation["matched"] == [{"field": "camera", "terms": ["canon"]}]


def test_a_document_holding_a_minor_part_of_the_query_is_a_weak_keyword_match(alice):
    full = make_asset(alice, description="a red kayak on a mountain lake")
    partial = make_asset(alice, description="a kayak race on a river")
    for n in range(6):
        make_asset(alice, description=f"kayak rental {n}")
    visible = Asset.objects.visible_to(alice)
    strong = search(visible, SearchRequest(query="red kayak lake", mode="keyword"), user=alice)
    assert [hit.asset.pk for hit in strong.hits] == [full.pk]
    assert strong.strong == 1 and strong.weak == 7
    everything = search(visible, SearchRequest(query="red kayak lake", mode="keyword", weak=True, limit=50),
                        user=alice)
    assert everything.hits[0].asset.pk == full.pk and len(everything.hits) == 8
    assert partial.pk in {hit.asset.pk for hit in everything.hits[1:]}
    assert [hit.explanation["strength"] for hit in everything.hits] == ["strong"] + ["weak"] * 7


def test_vector_matches_below_the_calibrated_cutoff_are_weak(alice, calibrated):
    close = _with_vector(make_asset(alice, original_filename="close.jpg"), [1.0, 0.0, 0.0])
    near = _with_vector(make_asset(alice, original_filename="near.jpg"), [0.6, 0.8, 0.0])
    far = _with_vector(make_asset(alice, original_filename="far.jpg"), [0.0, 1.0, 0.0])
    visible = Asset.objects.visible_to(alice)
    response = search(visible, SearchRequest(query="anything", mode="semantic"), FixedEncoder([1.0, 0.0, 0.0]),
                      user=alice)
    assert [hit.asset.pk for hit in response.hits] == [close.pk, near.pk]
    assert (response.strong, response.weak) == (2, 1)
    assert response.cutoff == {"similarity": {"semantic_text": 0.5}, "uncalibrated": []}
    shown = search(visible, SearchRequest(query="anything", mode="semantic", weak=True),
                   FixedEncoder([1.0, 0.0, 0.0]), user=alice)
    assert [hit.asset.pk for hit in shown.hits] == [close.pk, near.pk, far.pk]
    assert shown.hits[-1].explanation["strength"] == "weak"


def test_a_found_identifier_is_a_lookup_its_vector_neighbours_are_weak(alice, calibrated):
    found = _with_vector(make_asset(alice, original_filename="DSCN0027.JPG"), [1.0, 0.0, 0.0])
    sibling = _with_vector(make_asset(alice, original_filename="DSCN0010.JPG"), [0.9, 0.1, 0.0])
    visible = Asset.objects.visible_to(alice)
    response = search(visible, SearchRequest(query="DSCN0027", weak=True), FixedEncoder([1.0, 0.0, 0.0]), user=alice)
    assert [(hit.asset.pk, hit.explanation["strength"]) for hit in response.hits] == [
        (found.pk, "strong"), (sibling.pk, "weak")]
    # A code nobody has: nothing matches it, however near the codes' vectors are to its own.
    missing = search(visible, SearchRequest(query="DSCN9999", weak=True), FixedEncoder([1.0, 0.0, 0.0]), user=alice)
    assert {hit.asset.pk for hit in missing.hits} == {found.pk, sibling.pk}
    assert (missing.strong, missing.weak) == (0, 2)


def test_a_code_found_inside_a_file_name_is_strong_and_a_code_near_it_by_vector_is_weak(alice, calibrated):
    named = _with_vector(make_asset(alice, original_filename="c4e91b07aa.jpg"), [0.6, 0.8, 0.0])
    lookalike = _with_vector(make_asset(alice, original_filename="A7-3310C.png"), [1.0, 0.0, 0.0])
    response = search(Asset.objects.visible_to(alice), SearchRequest(query="c4e91b07", weak=True),
                      FixedEncoder([1.0, 0.0, 0.0]), user=alice)
    assert [(hit.asset.pk, hit.explanation["strength"]) for hit in response.hits] == [
        (named.pk, "strong"), (lookalike.pk, "weak")]
    # The same vectors under a query of words judge as usual: the look-alike is then a strong match.
    words = search(Asset.objects.visible_to(alice), SearchRequest(query="harbour at dusk", mode="semantic"),
                   FixedEncoder([1.0, 0.0, 0.0]), user=alice)
    assert [hit.asset.pk for hit in words.hits] == [lookalike.pk, named.pk]


def test_an_uncalibrated_model_cannot_judge_so_its_matches_stay_and_the_response_says_so(alice, calibrated):
    other = "test:never-calibrated"
    for vector in ([1.0, 0.0], [0.0, 1.0]):
        _with_vector(make_asset(alice), vector, model_id=other)
    response = search(Asset.objects.visible_to(alice), SearchRequest(query="anything", mode="semantic"),
                      FixedEncoder([1.0, 0.0], model_id=other), user=alice)
    assert len(response.hits) == 2 and response.weak == 0
    assert response.cutoff["uncalibrated"] == [other]


def test_results_sort_by_date_taken_with_undated_ones_last(alice):
    def taken(year):
        return dt.datetime(year, 6, 1, tzinfo=dt.UTC)

    old = make_asset(alice, description="lighthouse", taken_at=taken(2001))
    undated = make_asset(alice, description="lighthouse lighthouse")
    new = make_asset(alice, description="lighthouse", taken_at=taken(2021))
    visible = Asset.objects.visible_to(alice)

    def order(sort):
        response = search(visible, SearchRequest(query="lighthouse", mode="keyword", sort=sort), user=alice)
        return [hit.asset.pk for hit in response.hits]

    assert order("newest") == [new.pk, old.pk, undated.pk]
    assert order("oldest") == [old.pk, new.pk, undated.pk]
    assert order("relevance")[0] == undated.pk


def test_a_plural_finds_the_labels_singular_as_a_strong_match_and_says_where(alice):
    labelled = make_asset(alice, original_filename="DSCN0010.jpg", status=Status.READY)
    other = make_asset(alice, original_filename="DSCN0011.jpg", status=Status.READY)
    claim = pipeline.claim_analysis(10, [labelled.pk, other.pk])
    pipeline.finish_analysis(claim, [pipeline.Finding(labelled.pk, "labels", "labels-v1", text="alp\nmountain"),
                                     pipeline.Finding(other.pk, "labels", "labels-v1", text="seashore\nbeach")])
    for query in ("mountains", "mountain"):
        response = search(Asset.objects.visible_to(alice), SearchRequest(query=query, mode="keyword"), user=alice)
        assert [hit.asset.pk for hit in response.hits] == [labelled.pk]
        assert (response.strong, response.weak) == (1, 0)
        assert response.hits[0].explanation["matched"] == [{"field": "what it shows", "terms": [query]}]
