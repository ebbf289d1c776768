"""Facets on the library and search pages: counts over what the person sees with the current filters (on
the search page: over the results), each value a link
that adds itself to those filters (or, when already one, takes itself out); the camera, place and year
filters they link to; and the page's query count, which does not grow with the library."""

from __future__ import annotations

import datetime as dt
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from assets.actions import pipeline
from assets.models import Visibility
from tests.portal.conftest import make_asset

pytestmark = pytest.mark.django_db


def taken(year: int) -> dt.datetime:
    return dt.datetime(year, 6, 1, 12, tzinfo=dt.UTC)


@pytest.fixture
def library(alice, charlie, team):
    canon = {"camera_make": "Canon", "camera_model": "Canon EOS 40D"}
    a = make_asset(alice, title="A", tags=["kayak", "lake"], taken_at=taken(2008), **canon)
    b = make_asset(alice, title="B", tags=["kayak"], taken_at=taken(2019), camera_make="NIKON",
                   camera_model="COOLPIX P6000")
    c = make_asset(alice, title="C", tags=["sea"], taken_at=taken(2008), visibility=Visibility.TEAM, team=team, **canon)
    make_asset(charlie, title="Hidden", tags=["kayak", "secret"], camera_make="Leica", camera_model="M6")
    claim = pipeline.claim_analysis(10, [a.pk, b.pk])
    pipeline.finish_analysis(claim, [
        pipeline.Finding(a.pk, "place", "place-v1", "Siena Italy", data={"city": "Siena", "country": "Italy"}),
        pipeline.Finding(b.pk, "place", "place-v1", "Oslo Norway", data={"city": "Oslo", "country": "Norway"}),
    ])
    return {"a": a, "b": b, "c": c}


def facet_links(html: str, page: str = "library") -> dict[str, list[tuple[str, int, str, bool]]]:
    """{facet: [(label, count, href, active)]} as the page shows them."""
    section = re.search(rf'data-testid="{page}-facets">(.*?)</section>', html, flags=re.S)
    if section is None:
        return {}
    found: dict[str, list] = {}
    for name, body in re.findall(r'data-facet="(\w+)">(.*?)</ul>', section.group(1), flags=re.S):
        found[name] = [
            (label, int(count), href.replace("&amp;", "&"), "facet--active" in classes)
            for classes, href, label, count in re.findall(
                r'<a class="facet([^"]*)" href="([^"]*)".*?<span class="facet__label">([^<]*)</span> '
                r'<span class="facet__count">(\d+)</span>', body, flags=re.S)
        ]
    return found


def query_of(href: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(href).query)


def titles(response) -> set[str]:
    return {str(asset) for asset in response.context["assets"]}


def test_facets_count_what_the_person_sees(client_for, alice, library):
    links = facet_links(client_for(alice).get("/").content.decode())
    assert [(label, count) for label, count, _, _ in links["tags"]] == [("kayak", 2), ("lake", 1), ("sea", 1)]
    assert [(label, count) for label, count, _, _ in links["camera"]] == [
        ("Canon EOS 40D", 2), ("NIKON COOLPIX P6000", 1)]
    assert [(label, count) for label, count, _, _ in links["year"]] == [("2019", 1), ("2008", 2)]
    assert [(label, count) for label, count, _, _ in links["type"]] == [("Images", 3)]
    assert {label for label, *_ in links["place"]} == {"Italy", "Siena, Italy", "Norway", "Oslo, Norway"}
    assert "secret" not in str(links) and "Leica" not in str(links)  # charlie's


def test_each_value_adds_itself_to_the_current_filters(client_for, alice, library):
    client = client_for(alice)
    html = client.get("/?tag=kayak&sort=title&status=ready&page=1").content.decode()
    links = facet_links(html)
    kayak, lake = links["tags"][0], links["tags"][1]
    assert kayak[0] == "kayak" and kayak[3]  # the active filter: its link takes it out again
    assert query_of(kayak[2]) == {"sort": ["title"], "status": ["ready"]}
    assert lake[0] == "lake" and not lake[3]
    assert query_of(lake[2]) == {"tag": ["kayak,lake"], "sort": ["title"], "status": ["ready"]}  # no page
    assert 'aria-current="true"' in html

    # The counts are over the filtered set, and following a link finds exactly what it counted.
    for name in ("camera", "year", "place", "tags"):
        for label, count, href, active in links[name]:
            response = client.get("/" + href)
            assert response.status_code == 200
            expected = 3 if active else count  # the active value's link removes it: back to all three
            assert response.context["page_obj"].paginator.count == expected, (name, label, href)


def test_camera_place_and_year_filters(client_for, alice, library):
    client = client_for(alice)
    assert titles(client.get("/", {"camera": "Canon Canon EOS 40D"})) == {"A", "C"}
    assert titles(client.get("/", {"camera": "canon canon eos 40d", "year": "2008"})) == {"A", "C"}
    assert titles(client.get("/", {"year": "2019"})) == {"B"}
    assert titles(client.get("/", {"place": "Siena, Italy"})) == {"A"}
    assert titles(client.get("/", {"place": "norway"})) == {"B"}
    # An invalid value is ignored, not an error page.
    assert titles(client.get("/", {"year": "soon", "tag": "kayak"})) == {"A", "B"}
    html = client.get("/", {"camera": "NIKON COOLPIX P6000", "place": "Oslo", "year": "2019"}).content.decode()
    assert 'name="camera" value="NIKON COOLPIX P6000"' in html
    assert 'name="place" value="Oslo"' in html
    assert 'name="year" value="2019"' in html
    links = facet_links(html)
    assert links["camera"] == [("NIKON COOLPIX P6000", 1, "?place=Oslo&year=2019", True)]


def test_a_viewer_sees_counts_of_the_team_assets_only(client_for, bob, library):
    links = facet_links(client_for(bob).get("/").content.decode())
    assert [(label, count) for label, count, _, _ in links["tags"]] == [("sea", 1)]
    assert "place" not in links  # none of bob's assets has a place finding


def test_no_facets_on_an_empty_library(client_for, alice):
    assert 'data-testid="library-facets"' not in client_for(alice).get("/").content.decode()


def test_the_library_page_costs_the_same_queries_however_many_assets(client_for, alice, team, library):
    client = client_for(alice)
    client.get("/")

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/?tag=kayak").status_code == 200
        return len(queries)

    before = count()
    for n in range(30):
        make_asset(alice, tags=["kayak", f"t{n}"], camera_make="Fuji", camera_model=f"X{n % 4}",
                   taken_at=taken(2000 + n), visibility=Visibility.TEAM if n % 2 else Visibility.PRIVATE,
                   team=team if n % 2 else None)
    assert count() == before


def test_search_facets_count_the_results_and_keep_the_query(client_for, api_for, alice, library):
    client = client_for(alice)
    html = client.get("/search/", {"q": "kayak", "mode": "keyword"}).content.decode()
    links = facet_links(html, "search")
    # A and B match; C (sea) does not, and charlie's private kayak is not alice's to count.
    assert [(label, count) for label, count, _, _ in links["tags"]] == [("kayak", 2), ("lake", 1)]
    assert sorted(label for label, *_ in links["place"]) == ["Italy", "Norway", "Oslo, Norway", "Siena, Italy"]
    lake = next(href for label, _, href, _ in links["tags"] if label == "lake")
    assert query_of(lake) == {"q": ["kayak"], "mode": ["keyword"], "tag": ["lake"]}
    narrowed = client.get("/search/" + lake)
    assert [hit.asset.title for hit in narrowed.context["response"].hits] == ["A"]
    # Counted over what is left; the active value's link takes it out again, keeping the query.
    assert facet_links(narrowed.content.decode(), "search")["tags"] == [
        ("kayak", 1, "?q=kayak&mode=keyword&tag=lake%2Ckayak", False), ("lake", 1, "?q=kayak&mode=keyword", True),
    ]

    body = api_for(alice).get("/api/v1/search/", {"q": "kayak", "mode": "keyword", "facets": "true"}).json()
    assert {(v["value"], v["count"]) for v in body["facets"]["tags"]} == {("kayak", 2), ("lake", 1)}
    assert {v["value"] for v in body["facets"]["year"]} == {"2008", "2019"}
    assert "facets" not in api_for(alice).get("/api/v1/search/", {"q": "kayak", "mode": "keyword"}).json()


def test_search_facets_never_count_what_the_caller_cannot_see(api_for, charlie, library):
    body = api_for(charlie).get("/api/v1/search/", {"q": "kayak", "mode": "keyword", "facets": "true"}).json()
    assert {(v["value"], v["count"]) for v in body["facets"]["tags"]} == {("kayak", 1), ("secret", 1)}
    assert body["facets"]["place"] == []
