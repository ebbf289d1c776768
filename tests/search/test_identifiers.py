"""Identifiers of every shape found whole and first; file names found by a fragment."""

from __future__ import annotations

import pytest

from assets.models import Asset, Visibility
from search.identifiers import is_code, keys_of, query_key
from search.names import grams_of, name_matches
from search.service import FILENAME, IDENTIFIER, SearchRequest, search
from tests.search.conftest import assert_index_consistent, make_asset


def test_an_identifier_yields_its_whole_key_and_every_run_of_parts_that_holds_a_digit():
    assert keys_of("IMG_5195.jpg") == {"img5195jpg", "img5195", "5195", "5195jpg"}
    assert keys_of("A7-3310B") == {"a73310b", "a7", "3310b"}
    assert keys_of("see c4e91b07aa, please") == {"c4e91b07aa"}
    assert keys_of("sunset.jpg") == {"sunsetjpg"}  # separators make an identifier; parts without digits are words
    assert keys_of("a red kayak") == set()


@pytest.mark.parametrize(("query", "key"), [
    ("IMG_5195.jpg", "img5195jpg"), ("img5195", "img5195"), (" A7-3310B ", "a73310b"), ("1000268201", "1000268201"),
    ("ＩＭＧ＿５１９５", "img5195"), ("c4e91b07aa", "c4e91b07aa"),
    ("Canon", None), ("red kayak", None), ("IMG_5195 beach", None), ("", None),
])
def test_a_query_is_an_identifier_only_when_it_is_one_whole_identifier(query, key):
    assert query_key(query) == key


@pytest.mark.parametrize(("query", "code"), [
    ("c4e91b07", True), ("DSCN9999", True), ("A7-3310B", True), ("IMG_51", True),
    ("t-shirt", False), ("sunset.jpg", False), ("Canon", False), ("IMG_5195 beach", False),
])
def test_a_code_is_one_identifier_holding_a_digit(query, code):
    assert is_code(query) is code


SHAPES = [
    # (file name, title, the query that must find it first)
    ("IMG_5195.jpg", "", "IMG_5195.jpg"),
    ("IMG_5195.jpg", "", "img_5195"),
    ("IMG_5195.jpg", "", "IMG5195"),
    ("DSC-0042.JPG", "", "dsc-0042.jpg"),
    ("scan.tif", "A7-3310B", "a7-3310b"),
    ("scan2.tif", "c4e91b07aa", "C4E91B07AA"),
    ("1000268201_693b08cb0e.jpg", "", "1000268201"),
    ("1000268201_693b08cb0e.jpg", "", "693b08cb0e"),
    ("report.v2.final.pdf", "", "report.v2.final"),
]


@pytest.mark.parametrize(("name", "title", "query"), SHAPES)
def test_an_exact_identifier_ranks_first_in_every_mode_however_the_analyzer_splits_it(alice, name, title, query):
    target = make_asset(alice, original_filename=name, title=title)
    # Decoys that share every part but one, and many that share the common parts.
    for decoy in ["IMG_5196.jpg", "IMG_5194.jpg", "DSC-0043.JPG", "1000268202_693b08cb0f.jpg", "report.v3.final.pdf"]:
        make_asset(alice, original_filename=decoy, title="A7-3310C c4e91b07ab")
    for n in range(10):
        make_asset(alice, original_filename=f"IMG_{n:04d}.jpg", description="img jpg 5195 a7 3310b report final")
    response = search(Asset.objects.visible_to(alice), SearchRequest(query=query, mode="keyword"), user=alice)
    assert response.hits[0].asset.pk == target.pk, [hit.asset.original_filename for hit in response.hits]
    assert IDENTIFIER in response.hits[0].explanation["signals"]
    assert response.hits[0].explanation["strength"] == "strong"
    assert response.hits[0].explanation["matched"], "the explanation names the field"


def test_the_explanation_names_the_field_that_holds_the_identifier(alice):
    target = make_asset(alice, original_filename="scan.tif", title="Invoice A7-3310B")
    response = search(Asset.objects.visible_to(alice), SearchRequest(query="A7-3310B", mode="keyword"), user=alice)
    assert response.hits[0].asset.pk == target.pk
    assert response.hits[0].explanation["matched"] == [{"field": "title", "terms": ["A7-3310B"]}]


def test_a_file_name_fragment_finds_names_that_start_with_it_first_then_those_holding_it(alice):
    first = make_asset(alice, original_filename="IMG_5195.jpg")
    second = make_asset(alice, original_filename="IMG_5100.jpg")
    inside = make_asset(alice, original_filename="holiday_IMG_5150.jpg")
    make_asset(alice, original_filename="IMG_6195.jpg")
    found = [pk for pk, _ in name_matches("img_51", visible=Asset.objects.all(), limit=10)]
    assert found == [first.pk, second.pk, inside.pk]  # prefixes (shorter, then by id), then the rest
    response = search(Asset.objects.visible_to(alice), SearchRequest(query="IMG_51", mode="keyword"), user=alice)
    assert [hit.asset.pk for hit in response.hits][:3] == [first.pk, second.pk, inside.pk]
    assert all(FILENAME in hit.explanation["signals"] for hit in response.hits[:3])


def test_a_fragment_whose_trigrams_are_all_common_answers_from_the_bounded_scan(alice, monkeypatch):
    from search import names

    monkeypatch.setattr(names, "COMMON", 1)  # every trigram counts as common
    target = make_asset(alice, original_filename="IMG_5195.jpg")
    make_asset(alice, original_filename="DSC_0001.jpg")
    assert [pk for pk, _ in name_matches("g_519", visible=None, limit=10)] == [target.pk]


def test_fragments_are_matched_literally_not_as_like_patterns(alice):
    literal = make_asset(alice, original_filename="50%_off_100.jpg")
    make_asset(alice, original_filename="50x_off_100.jpg")
    assert [pk for pk, _ in name_matches("50%_o", visible=None, limit=10)] == [literal.pk]
    assert grams_of("abcd") == {"abc", "bcd"}


def test_identifier_and_file_name_matches_respect_visibility(alice, charlie):
    make_asset(alice, original_filename="SECRET_4242.jpg", visibility=Visibility.PRIVATE)
    visible = Asset.objects.visible_to(charlie)
    for query in ["SECRET_4242", "SECRET_42", "4242"]:
        response = search(visible, SearchRequest(query=query, mode="keyword", weak=True), user=charlie)
        assert response.hits == [], query


def test_identifier_keys_and_trigrams_follow_every_write_and_go_with_the_asset(alice):
    from assets import actions

    asset = make_asset(alice, original_filename="IMG_5195.jpg", title="A7-3310B")
    assert_index_consistent()
    actions.update_asset(alice, asset, {"title": "B8-4420C"})
    assert_index_consistent()
    visible = Asset.objects.visible_to(alice)
    assert search(visible, SearchRequest(query="A7-3310B", mode="keyword"), user=alice).hits == []
    assert search(visible, SearchRequest(query="B8-4420C", mode="keyword"), user=alice).hits[0].asset.pk == asset.pk
    Asset.objects.filter(pk=asset.pk).delete()
    assert_index_consistent()
