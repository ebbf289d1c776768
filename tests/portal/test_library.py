"""The library page: exactly the visible assets, filters, states, pagination, constant queries."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from assets.models import Status, Visibility
from tests.portal.conftest import make_asset

pytestmark = pytest.mark.django_db


def listed_ids(response) -> set[int]:
    """Asset ids in the page context and in the rendered cards; both must agree."""
    from_context = {asset.pk for asset in response.context["page_obj"].object_list}
    from_html = {int(pk) for pk in re.findall(r'data-asset-id="(\d+)"', response.content.decode())}
    assert from_context == from_html
    return from_context


@pytest.fixture
def spread(alice, bob, charlie, team, other_team):
    """One asset per owner and visibility, in alice and bob's team (Studio) or charlie's (Newsroom)."""
    return {
        "alice_private": make_asset(alice, title="alice private", team=team),
        "alice_team": make_asset(alice, title="alice team", visibility=Visibility.TEAM, team=team),
        "alice_org": make_asset(alice, title="alice org", visibility=Visibility.ORGANISATION),
        "bob_private": make_asset(bob, title="bob private"),
        "charlie_private": make_asset(charlie, title="charlie private", team=other_team),
        "charlie_team": make_asset(charlie, title="charlie team", visibility=Visibility.TEAM, team=other_team),
        "charlie_org": make_asset(charlie, title="charlie org", visibility=Visibility.ORGANISATION),
    }


@pytest.mark.parametrize(
    "who, expected",
    [
        ("alice", {"alice_private", "alice_team", "alice_org", "charlie_org"}),
        ("bob", {"bob_private", "alice_team", "alice_org", "charlie_org"}),
        ("charlie", {"charlie_private", "charlie_team", "charlie_org", "alice_org"}),
    ],
)
def test_library_lists_exactly_the_visible_assets(client_for, spread, who, expected, request):
    user = request.getfixturevalue(who)
    response = client_for(user).get("/")
    assert response.status_code == 200
    assert listed_ids(response) == {spread[name].pk for name in expected}
    html = response.content.decode()
    for name, asset in spread.items():
        assert (f">{asset.title}<" in html) == (name in expected), name
    assert f"{len(expected)} assets you can see" in html


def test_superuser_sees_everything(client_for, spread, admin_user):
    assert listed_ids(client_for(admin_user).get("/")) == {a.pk for a in spread.values()}


def test_cards_show_thumbnail_placeholder_and_failure(client_for, alice):
    ready = make_asset(alice, title="ready one")
    pending = make_asset(alice, title="pending one", status=Status.PENDING, renditions=False)
    processing = make_asset(alice, title="processing one", status=Status.PROCESSING, renditions=False)
    failed = make_asset(alice, title="failed one", status=Status.FAILED, renditions=False,
                        error="processing failed: OSError: truncated file")
    html = client_for(alice).get("/").content.decode()
    cards = dict(re.findall(r'data-asset-id="(\d+)">(.*?)</li>', html, flags=re.S))
    assert f'src="/api/v1/assets/{ready.pk}/renditions/max256/"' in cards[str(ready.pk)]
    assert "badge--ready" in cards[str(ready.pk)]
    assert "<img" not in cards[str(pending.pk)]
    assert "Waiting to process" in cards[str(pending.pk)]
    assert "Processing…" in cards[str(processing.pk)]
    assert "badge--failed" in cards[str(failed.pk)]
    assert "processing failed: OSError: truncated file" in cards[str(failed.pk)]
    assert "<img" not in cards[str(failed.pk)]


def test_filters(client_for, alice, bob, team):
    red = make_asset(alice, title="red", tags=["kayak", "lake"], visibility=Visibility.TEAM, team=team)
    blue = make_asset(alice, title="blue", tags=["lake"], status=Status.FAILED, error="x")
    bobs = make_asset(bob, title="bobs", tags=["kayak"], visibility=Visibility.ORGANISATION)
    client = client_for(alice)
    assert listed_ids(client.get("/")) == {red.pk, blue.pk, bobs.pk}
    assert listed_ids(client.get("/?tag=kayak")) == {red.pk, bobs.pk}
    assert listed_ids(client.get("/?tag=KAYAK")) == {red.pk, bobs.pk}
    assert listed_ids(client.get("/?status=failed")) == {blue.pk}
    assert listed_ids(client.get("/?team=studio")) == {red.pk}
    assert listed_ids(client.get("/?mine=on")) == {red.pk, blue.pk}
    assert listed_ids(client.get("/?mine=on&tag=kayak")) == {red.pk}
    assert listed_ids(client.get("/?media_type=image")) == {red.pk, blue.pk, bobs.pk}
    # A bad value in one filter is ignored, the others still apply.
    assert listed_ids(client.get("/?status=bogus&tag=lake")) == {red.pk, blue.pk}


def test_team_filter_offers_only_my_teams(client_for, alice, charlie):
    html = client_for(alice).get("/").content.decode()
    assert '<option value="studio">Studio</option>' in html
    assert "Newsroom" not in html


def test_empty_library_invites_upload(client_for, alice):
    html = client_for(alice).get("/").content.decode()
    assert "Nothing here yet" in html
    assert 'class="button button--primary" href="/upload/">Upload files</a>' in html


def test_no_match_offers_to_clear_filters(client_for, alice):
    make_asset(alice, tags=["lake"])
    html = client_for(alice).get("/?tag=desert").content.decode()
    assert "No assets match these filters" in html
    assert "Nothing here yet" not in html
    assert '<a class="button" href="/">Clear filters</a>' in html


def test_pagination_keeps_filters(client_for, alice):
    for _ in range(50):
        make_asset(alice, tags=["batch"], renditions=False)
    make_asset(alice, tags=["other"], renditions=False)
    client = client_for(alice)
    first = client.get("/?tag=batch")
    assert len(listed_ids(first)) == 48
    html = first.content.decode()
    assert "Page 1 of 2" in html
    assert 'href="?tag=batch&amp;page=2" rel="next"' in html
    second = client.get("/?tag=batch&page=2")
    assert len(listed_ids(second)) == 2
    assert listed_ids(first).isdisjoint(listed_ids(second))
    # Past the end shows the last page rather than an error.
    assert listed_ids(client.get("/?tag=batch&page=99")) == listed_ids(second)


def _queries_for_library(client) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get("/")
    assert response.status_code == 200
    return len(captured)


def test_library_query_count_does_not_grow_with_assets(client_for, alice, bob, team, django_assert_max_num_queries):
    client = client_for(alice)
    make_asset(alice, visibility=Visibility.TEAM, team=team)
    make_asset(bob, visibility=Visibility.ORGANISATION)
    few = _queries_for_library(client)
    for i in range(30):
        make_asset(bob if i % 2 else alice, visibility=Visibility.TEAM, team=team,
                   status=Status.PENDING if i % 3 == 0 else Status.READY, renditions=i % 3 != 0)
    many = _queries_for_library(client)
    assert many == few
    # session, user, count, page of assets, renditions, team and collection filter choices,
    # the bulk bar's team and collection choices; the five facet counts (assets.facets)
    with django_assert_max_num_queries(14):
        response = client.get("/")
    assert len(listed_ids(response)) == 32


def test_date_ranges_tags_and_sort(client_for, alice):
    import datetime

    from django.utils import timezone

    def at(day):
        return timezone.make_aware(datetime.datetime(2024, 5, day, 12))

    beach = make_asset(alice, title="beach", tags=["sea", "sand"], taken_at=at(3))
    harbour = make_asset(alice, title="Harbour", tags=["sea"], taken_at=at(10))
    undated = make_asset(alice, title="attic", tags=["sand"])
    Asset = type(beach)
    Asset.objects.filter(pk=beach.pk).update(created_at=at(20))
    Asset.objects.filter(pk=harbour.pk).update(created_at=at(25))
    Asset.objects.filter(pk=undated.pk).update(created_at=at(28))
    client = client_for(alice)
    assert listed_ids(client.get("/?tag=sea,sand")) == {beach.pk}
    assert listed_ids(client.get("/?taken_from=2024-05-04")) == {harbour.pk}
    assert listed_ids(client.get("/?taken_to=2024-05-03")) == {beach.pk}
    assert listed_ids(client.get("/?uploaded_from=2024-05-21&uploaded_to=2024-05-27")) == {harbour.pk}
    assert listed_ids(client.get("/?taken_from=not-a-date&tag=sand")) == {beach.pk, undated.pk}

    def order(query):
        return [a.pk for a in client.get("/" + query).context["page_obj"].object_list]

    assert order("") == [undated.pk, harbour.pk, beach.pk]
    assert order("?sort=newest") == [undated.pk, harbour.pk, beach.pk]
    assert order("?sort=taken") == [harbour.pk, beach.pk, undated.pk]  # undated last
    assert order("?sort=title") == [undated.pk, beach.pk, harbour.pk]  # case-insensitive
    html = client.get("/?sort=title").content.decode()
    assert '<option value="title" selected>Title, A to Z</option>' in html
    assert 'type="date" name="taken_from"' in html


def test_empty_collection_filter_explains(client_for, alice):
    from assets.actions import collections

    make_asset(alice)
    empty = collections.create_collection(alice, "Nothing yet")
    html = client_for(alice).get(f"/?collection={empty.pk}").content.decode()
    assert "No assets match these filters" in html
