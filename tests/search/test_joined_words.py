"""A query of a few words also finds the one token they make run together (search.joined_words):
text recognition loses the spaces of widely spaced capitals ("PEDROLENZ")."""

from __future__ import annotations

import pytest

from assets.actions import pipeline
from assets.models import Asset, Status, Visibility
from search.joined_words import joined_term
from search.service import SearchRequest, search
from tests.search.conftest import make_asset


@pytest.mark.parametrize(("query", "expected"), [
    ("Pedro Lenz", "pedrolenz"),
    ("EIN FILM VON", "einfilmvon"),
    ("  Summer   Fest ", "summerfest"),
    ("Straße Bau", "strassebau"),  # the analyzer's folding, as documents get it
    ("Pedro", None),  # one word is BM25's
    ("one two three four five", None),  # a sentence, not a name run together
    ("a b", None),  # too short to tell from an ordinary word
    ("IMG 5195", None),  # the analyzer splits "img5195" again: its parts find it
    ("東京 タワー", None),  # no spaces to lose in bigrams
    ("", None),
])
def test_the_joined_term_of_a_query(query, expected):
    assert joined_term(query) == expected


def _with_text(asset, text):
    claim = pipeline.claim_analysis(10, [asset.pk])
    pipeline.finish_analysis(claim, [pipeline.Finding(asset.pk, "text_in_image", "ocr-v1", text=text)])


def _search(user, query, **options):
    return search(Asset.objects.visible_to(user), SearchRequest(query=query, **options), user=user)


def test_words_read_without_their_spaces_are_a_strong_match_that_names_the_field(alice):
    poster = make_asset(alice, original_filename="poster.jpg", status=Status.READY)
    other = make_asset(alice, original_filename="street.jpg", status=Status.READY)
    _with_text(poster, "NACH DEM ROMAN VON\nPEDROLENZ")
    _with_text(other, "PARKING")

    for mode in ("keyword", "hybrid"):
        response = _search(alice, "Pedro Lenz", mode=mode)
        assert [hit.asset.pk for hit in response.hits] == [poster.pk]
        assert response.strong == 1
        hit = response.hits[0].explanation
        assert hit["strength"] == "strong" and "joined_words" in hit["signals"]
        # The run itself, and its words (search.analyzer.run_together_words).
        assert hit["matched"] == [{"field": "text in the picture", "terms": ["lenz", "pedro", "pedrolenz"]}]


def test_words_inside_a_longer_run_of_recognised_text_are_found_as_words(alice):
    report = make_asset(alice, original_filename="scan.pdf", status=Status.READY)
    other = make_asset(alice, original_filename="street.jpg", status=Status.READY)
    _with_text(report, "QUARTERLYHARBOURREPORT")
    _with_text(other, "HARBOURVIEW CAFE")

    response = _search(alice, "harbour report", mode="keyword")
    assert [hit.asset.pk for hit in response.hits] == [report.pk]  # "harbourreport" is in no document
    assert response.hits[0].explanation["matched"] == [
        {"field": "text in the picture", "terms": ["harbour", "report"]}]
    assert {hit.asset.pk for hit in _search(alice, "harbour", mode="keyword").hits} == {report.pk, other.pk}


def test_the_words_apart_still_match_as_words_and_an_ordinary_query_is_unchanged(alice):
    apart = make_asset(alice, title="Pedro Lenz reading", original_filename="a.jpg", status=Status.READY)
    glued = make_asset(alice, original_filename="b.jpg", status=Status.READY)
    _with_text(glued, "PEDROLENZ")
    make_asset(alice, title="Red kayak on the lake", original_filename="c.jpg", status=Status.READY)

    found = _search(alice, "pedro lenz", mode="keyword")
    assert {hit.asset.pk for hit in found.hits} == {apart.pk, glued.pk}
    assert found.strong == 2
    kayak = _search(alice, "red kayak", mode="keyword")
    assert [hit.asset.title for hit in kayak.hits] == ["Red kayak on the lake"]
    assert "joined_words" not in kayak.hits[0].explanation["signals"]  # "redkayak" is in no document


def test_a_joined_match_is_never_an_asset_the_caller_may_not_see(alice, charlie):
    private = make_asset(alice, original_filename="p.jpg", visibility=Visibility.PRIVATE, status=Status.READY)
    _with_text(private, "PEDROLENZ")

    assert _search(charlie, "Pedro Lenz", mode="keyword", weak=True).hits == []
    assert [hit.asset.pk for hit in _search(alice, "Pedro Lenz", mode="keyword").hits] == [private.pk]


def test_the_portal_names_the_joined_match_in_its_explanation(alice, client_for):
    poster = make_asset(alice, original_filename="poster.jpg", status=Status.READY)
    _with_text(poster, "PEDROLENZ")

    html = client_for(alice).get("/search/", {"q": "Pedro Lenz", "mode": "keyword"}).content.decode()
    assert '<th scope="row">Words run together</th>' in html
    assert "text in the picture" in html and "pedrolenz" in html
