"""Facet counts (assets.facets): tags, places (the place findings' city and country), cameras, years and
types over exactly the set given (what a person sees, filtered), most common first, top N, in five
statements whatever the set's size; and the filters the facet values link to find what was counted."""

from __future__ import annotations

import datetime as dt

import pytest

from assets import actions, facets
from assets.actions import pipeline
from assets.facets import FacetValue
from assets.models import Asset, Visibility
from tests.portal.conftest import make_asset

pytestmark = pytest.mark.django_db


def taken(year: int, month: int = 6) -> dt.datetime:
    return dt.datetime(year, month, 1, 12, tzinfo=dt.UTC)


def placed(*pairs: tuple[Asset, dict]) -> None:
    """Place findings as the place analyser reports them, through the pipeline."""
    claim = pipeline.claim_analysis(100, [asset.pk for asset, _ in pairs])
    found = [pipeline.Finding(asset.pk, "place", "place-v1", text=" ".join(map(str, data.values())), data=data)
             for asset, data in pairs]
    pipeline.finish_analysis(claim, found)


@pytest.fixture
def library(alice, bob, charlie, team):
    canon = {"camera_make": "Canon", "camera_model": "Canon EOS 40D"}
    nikon = {"camera_make": "NIKON", "camera_model": "COOLPIX P6000"}
    a = make_asset(alice, tags=["kayak", "lake"], taken_at=taken(2008), **canon)
    b = make_asset(alice, tags=["kayak"], taken_at=taken(2008, 12), **nikon)
    c = make_asset(alice, tags=["kayak", "sea"], taken_at=taken(2019), visibility=Visibility.TEAM, team=team, **canon)
    d = make_asset(alice, tags=[], visibility=Visibility.TEAM, team=team)  # no camera, no date
    hidden = make_asset(charlie, tags=["kayak", "secret"], taken_at=taken(1999), camera_make="Leica", camera_model="M6")
    placed((a, {"city": "Siena", "country": "Italy"}), (b, {"city": "Siena", "country": "Italy"}),
           (c, {"city": "", "country": "Italy"}), (d, {}))
    placed((hidden, {"city": "Oslo", "country": "Norway"}))
    return {"a": a, "b": b, "c": c, "d": d, "hidden": hidden}


def test_counts_over_what_the_person_sees(alice, library):
    counts = facets.facets(Asset.objects.visible_to(alice))
    assert counts["tags"] == [
        FacetValue("kayak", 3, "kayak"), FacetValue("lake", 1, "lake"), FacetValue("sea", 1, "sea")]
    # Countries count every asset in them; cities come with their country.
    assert counts["place"] == [FacetValue("Italy", 3, "Italy"), FacetValue("Siena, Italy", 2, "Siena, Italy")]
    assert counts["camera"] == [FacetValue("Canon Canon EOS 40D", 2, "Canon EOS 40D"),
                                FacetValue("NIKON COOLPIX P6000", 1, "NIKON COOLPIX P6000")]
    assert counts["year"] == [FacetValue("2019", 1, "2019"), FacetValue("2008", 2, "2008")]  # newest first
    assert counts["type"] == [FacetValue("image", 4, "image")]
    # charlie's private asset (Leica, 1999, Oslo, "secret") is in nobody's counts but his.
    flat = {value.value for values in counts.values() for value in values}
    assert not flat & {"secret", "Leica M6", "1999", "Oslo, Norway"}


def test_counts_follow_the_set_given(bob, library):
    # bob (viewer of Studio) sees only the team's assets c and d.
    counts = facets.facets(Asset.objects.visible_to(bob))
    assert counts["tags"] == [FacetValue("kayak", 1, "kayak"), FacetValue("sea", 1, "sea")]
    assert counts["place"] == [FacetValue("Italy", 1, "Italy")]
    assert counts["type"] == [FacetValue("image", 2, "image")]
    narrowed = facets.facets(Asset.objects.visible_to(bob).filter(tags__contains=["sea"]))
    assert narrowed["camera"] == [FacetValue("Canon Canon EOS 40D", 1, "Canon EOS 40D")]
    assert facets.facets(Asset.objects.none()) == {name: [] for name in facets.FACETS}


def test_top_n_most_common_first(alice):
    for n in range(1, 6):
        for _ in range(n):
            make_asset(alice, tags=[f"tag{n}"])
    assert [(v.value, v.count) for v in facets.facets(Asset.objects.all(), top=3)["tags"]] == [
        ("tag5", 5), ("tag4", 4), ("tag3", 3)]


def test_five_statements_whatever_the_size(alice, library, django_assert_num_queries):
    visible = Asset.objects.visible_to(alice).select_related("owner").prefetch_related("renditions")
    with django_assert_num_queries(5):
        small = facets.facets(visible)
    for n in range(40):
        make_asset(alice, tags=[f"t{n % 7}", "many"], camera_make="Fuji", camera_model=f"X{n % 3}",
                   taken_at=taken(2000 + n % 5))
    with django_assert_num_queries(5):
        large = facets.facets(visible)
    assert large["tags"][0] == FacetValue("many", 40, "many")
    assert sum(v.count for v in large["type"]) == sum(v.count for v in small["type"]) + 40


def test_the_filters_find_what_each_facet_value_counted(alice, library):
    visible = Asset.objects.visible_to(alice)
    counts = facets.facets(visible)
    for value in counts["camera"]:
        assert visible.filter(facets.camera_matches(value.value)).count() == value.count, value
    for value in counts["place"]:
        assert visible.filter(facets.place_matches(value.value)).count() == value.count, value
    # A place filter also takes the city or the country alone, in any case.
    assert set(visible.filter(facets.place_matches("siena")).values_list("pk", flat=True)) == {
        library["a"].pk, library["b"].pk}
    assert visible.filter(facets.place_matches("ITALY")).count() == 3
    assert visible.filter(facets.camera_matches("canon canon eos 40d")).count() == 2
    assert not visible.filter(facets.place_matches("Oslo")).exists()  # charlie's


def test_a_corrected_place_is_counted_and_found_as_the_person_wrote_it(alice, library):
    """An editor's correction moves the photo out of the machine's city and country, into the place
    they wrote, in the counts and in the filter the count links to; corrected to nothing, nowhere."""
    visible = Asset.objects.visible_to(alice)
    actions.correct_analysis(alice, library["a"], "place", "Lyon, France")
    actions.correct_analysis(alice, library["b"], "place", "  italy ")  # c's country, as typed
    counts = facets.facets(visible)["place"]
    assert counts == [FacetValue("Italy", 2, "Italy"), FacetValue("Lyon, France", 1, "Lyon, France")]
    for value in counts:
        assert visible.filter(facets.place_matches(value.value)).count() == value.count, value
    assert list(visible.filter(facets.place_matches("lyon, france")).values_list("pk", flat=True)) == [
        library["a"].pk]
    assert not visible.filter(facets.place_matches("Siena")).exists()  # the machine's city, corrected away
    actions.correct_analysis(alice, library["c"], "place", "")  # no place at all
    assert {(v.value, v.count) for v in facets.facets(visible)["place"]} == {("italy", 1), ("Lyon, France", 1)}
    assert list(visible.filter(facets.place_matches("Italy")).values_list("pk", flat=True)) == [library["b"].pk]
    actions.correct_analysis(alice, library["a"], "place", None)  # back to the machine's
    assert facets.facets(visible)["place"] == [FacetValue("Italy", 2, "Italy"),  # a's machine Italy, b's "italy"
                                                FacetValue("Siena, Italy", 1, "Siena, Italy")]


def test_the_place_analysers_nearest_place_is_the_city_within_its_distances(alice):
    """As workers/ml/analysers/place.py reports: the nearest GeoNames place and how far it is."""
    near, region, sea, odd = (make_asset(alice) for _ in range(4))

    def geonames(nearest, km, country="Italy"):
        return {"latitude": 43.4, "longitude": 11.8, "nearest": nearest, "distance_km": km, "region": "Tuscany",
                "district": "Siena", "country_code": "IT", "country": country}

    placed((near, geonames("Siena", 3.2)), (region, geonames("Montalcino", 80.0)), (sea, geonames("Livorno", 400.0)),
           (odd, {**geonames("Pisa", 1.0), "distance_km": "near"}))  # not a number: neither near nor far
    counts = facets.facets(Asset.objects.visible_to(alice))["place"]
    assert counts == [FacetValue("Italy", 3, "Italy"), FacetValue("Siena, Italy", 1, "Siena, Italy")]
    visible = Asset.objects.visible_to(alice)
    assert list(visible.filter(facets.place_matches("Siena, Italy")).values_list("pk", flat=True)) == [near.pk]
    assert visible.filter(facets.place_matches("italy")).count() == 3  # not the photo 400 km out at sea
    assert not visible.filter(facets.place_matches("Montalcino")).exists()  # too far to be its town


def test_has_text_and_has_people_follow_the_findings_as_corrected(alice, charlie, client_for, api_for):
    poster, crowd, blank, secret = (make_asset(alice, title=t) for t in ("poster", "crowd", "blank", "secret"))
    make_asset(charlie, title="charlie's own")
    claim = pipeline.claim_analysis(100, [poster.pk, crowd.pk, blank.pk, secret.pk])
    pipeline.finish_analysis(claim, [
        pipeline.Finding(poster.pk, "text_in_image", "ocr-v1", "DER GOALIE"),
        pipeline.Finding(poster.pk, "faces", "faces-v1", ""),
        pipeline.Finding(crowd.pk, "faces", "faces-v1", "3 people"),
        pipeline.Finding(crowd.pk, "text_in_image", "ocr-v1", "  "),
        pipeline.Finding(blank.pk, "text_in_image", "ocr-v1", ""),
        pipeline.Finding(blank.pk, "faces", "faces-v1", ""),
        pipeline.Finding(secret.pk, "text_in_image", "ocr-v1", "PIN 1234"),
    ])
    actions.correct_analysis(alice, secret.pk, "text_in_image", "")  # a person says: no text here
    actions.correct_analysis(alice, blank.pk, "faces", "person")  # and: someone the detector missed

    def titles(**flags) -> set[str]:
        found = Asset.objects.filter(*(facets.has_finding(analyser) for analyser in flags.values()))
        return set(found.values_list("title", flat=True))

    assert titles(text=facets.TEXT_ANALYSER) == {"poster"}
    assert titles(people=facets.FACES_ANALYSER) == {"crowd", "blank"}

    client = client_for(alice)
    shown = {str(a) for a in client.get("/", {"has_text": "on"}).context["assets"]}
    assert shown == {"poster"}
    shown = {str(a) for a in client.get("/", {"has_people": "on", "has_text": "on"}).context["assets"]}
    assert shown == set()
    api = api_for(alice)
    assert {r["title"] for r in api.get("/api/v1/assets/", {"has_people": "true"}).json()["results"]} == {"crowd",
                                                                                                        "blank"}
    without = {r["title"] for r in api.get("/api/v1/assets/", {"has_people": "false"}).json()["results"]}
    assert without == {"poster", "secret"}
    assert api.get("/api/v1/assets/", {"has_people": "perhaps"}).status_code == 400
    # Only what the caller sees: charlie's filter finds none of alice's private findings.
    assert api_for(charlie).get("/api/v1/assets/", {"has_text": "true"}).json()["results"] == []


def test_the_api_filters_by_the_values_its_facets_give(alice, library, api_for):
    api = api_for(alice)

    def ids(**params) -> set[int]:
        response = api.get("/api/v1/assets/", params)
        assert response.status_code == 200, response.content
        return {r["id"] for r in response.json()["results"]}

    a, b, c = library["a"].pk, library["b"].pk, library["c"].pk
    assert ids(camera="Canon Canon EOS 40D") == {a, c}
    assert ids(place="Siena, Italy") == {a, b}
    assert ids(place="italy") == {a, b, c}
    assert ids(place="Norway") == set()  # charlie's: not alice's to see
    assert ids(year=2008) == {a, b}
    assert api.get("/api/v1/assets/", {"year": "soon"}).status_code == 400


def test_a_typed_camera_or_place_matches_as_a_part_and_a_facet_value_exactly(alice, charlie, api_for, client_for):
    """The library's Camera and Place fields are typed into: "canon" finds every Canon and "Missouri"
    the photos whose place finding names it, where only a facet's own value ("Canon Canon EOS 40D")
    found anything before. A facet value still picks exactly what its link counted (not the Mark II).
    Whether a value is a facet's is asked of what the caller sees: charlie's "Canon EOS" decides
    nothing for alice."""
    a = make_asset(alice, title="A", camera_make="Canon", camera_model="Canon EOS 40D")
    mark = make_asset(alice, title="M", camera_make="Canon", camera_model="Canon EOS 40D Mark II")
    nikon = make_asset(alice, title="N", camera_make="NIKON", camera_model="COOLPIX P6000")
    make_asset(charlie, title="theirs", camera_make="Canon", camera_model="EOS")
    moscow = make_asset(alice, title="R")
    claim = pipeline.claim_analysis(100, [a.pk, nikon.pk, moscow.pk])
    pipeline.finish_analysis(claim, [
        pipeline.Finding(moscow.pk, "place", "place-v1", text="Moscow\nRussia",
                         data={"nearest": "Moscow", "distance_km": 3.0, "country": "Russia"}),
        pipeline.Finding(a.pk, "place", "place-v1", text="Blue Springs\nMissouri\nUnited States\nUSA",
                         data={"nearest": "Blue Springs", "distance_km": 2.0, "region": "Missouri",
                               "country": "United States"}),
        pipeline.Finding(nikon.pk, "place", "place-v1", text="Siena\nTuscany\nItaly",
                         data={"nearest": "Siena", "distance_km": 1.0, "region": "Tuscany", "country": "Italy"}),
    ])
    api = api_for(alice)

    def ids(**params) -> set[int]:
        response = api.get("/api/v1/assets/", params)
        assert response.status_code == 200, response.content
        return {r["id"] for r in response.json()["results"]}

    assert ids(camera="Canon Canon EOS 40D") == {a.pk}  # the facet's value: exactly what it counted
    assert ids(camera="canon") == ids(camera="EOS 40D") == ids(camera="canon eos") == {a.pk, mark.pk}
    assert ids(camera="leica") == set()
    assert ids(place="United States") == ids(place="missouri") == ids(place="USA") == ids(place="springs") == {a.pk}
    assert ids(place="tuscany") == {nikon.pk}
    # Where a word starts: "us" is the USA, not Russia; "40d" is the EOS 40D; "anon" is nobody's.
    assert ids(place="us") == {a.pk}
    assert ids(camera="40d") == {a.pk, mark.pk}
    assert ids(camera="anon") == ids(place="ussia") == set()
    assert ids(place="(") == set()  # taken literally, not as a pattern
    # In a script without spaces between words there is no word start to wait for.
    actions.correct_analysis(alice, nikon.pk, "place", "東京都新宿区")
    assert ids(place="新宿") == {nikon.pk}
    client = client_for(alice)
    coolpix = client.get("/", {"camera": "coolpix"})
    assert {str(x) for x in coolpix.context["assets"]} == {"N"}
    assert "1 asset matches these filters" in coolpix.content.decode()
    assert "2 assets match these filters" in client.get("/", {"camera": "canon"}).content.decode()
    assert {str(x) for x in client.get("/", {"place": "Missouri"}).context["assets"]} == {"A"}
    # As people see it: an editor's correction of the place is what a typed place finds.
    actions.correct_analysis(alice, a.pk, "place", "Kansas City")
    assert ids(place="kansas") == {a.pk}
    assert ids(place="missouri") == set()


def test_a_typed_place_in_the_library_is_read_as_place_in_the_search_box(alice, charlie, api_for, client_for):
    """The library's Place field and the search box's place: are one condition (facets.typed_place):
    accents and case folded on both sides, the city and country embedded in the file read too. The
    library used to compare the finding's text alone, unfolded: "zurich" found no "Zürich" there,
    and a photo with an XMP city but no GPS was found by search and not by the library."""
    from search.query import narrow, parse

    zurich = make_asset(alice, title="lake")
    placed((zurich, {"city": "Zürich", "country": "Switzerland"}))
    embedded = make_asset(alice, title="square", exif={"embedded": {"city": "São Paulo", "country": "BRASIL"}})
    paris = make_asset(alice, title="street", exif={"embedded": {"city": "Paris", "region": "Île-de-France"}})
    make_asset(charlie, title="theirs", exif={"embedded": {"city": "Zurich"}})
    visible = Asset.objects.visible_to(alice)
    api = api_for(alice)

    def library(value: str) -> set[int]:
        response = api.get("/api/v1/assets/", {"place": value})
        assert response.status_code == 200, response.content
        return {r["id"] for r in response.json()["results"]}

    def search_box(value: str) -> set[int]:
        return set(narrow(visible, parse(f'place:"{value}"')).values_list("pk", flat=True))

    expected = {"zurich": {zurich.pk}, "ZÜRICH": {zurich.pk}, "zür": {zurich.pk}, "sao paulo": {embedded.pk},
                "brasil": {embedded.pk}, "paris": {paris.pk}, "ile-de": {paris.pk}, "ich": set(), ".*": set(),
                "oslo": set()}
    for value, wanted in expected.items():
        assert library(value) == search_box(value) == wanted, value
    client = client_for(alice)
    assert {str(x) for x in client.get("/", {"place": "sao paulo"}).context["assets"]} == {"square"}
