"""The bulk-action endpoint behind the grid selection: POST + CSRF, editable assets only, counts reported."""

import re

import pytest
from django.test import Client

from assets.models import Asset, Status, Visibility
from tests.portal.conftest import make_asset

pytestmark = pytest.mark.django_db


@pytest.fixture
def pair(alice, team):
    return [
        make_asset(alice, title="one", visibility=Visibility.TEAM, team=team),
        make_asset(alice, title="two", visibility=Visibility.TEAM, team=team),
    ]


def post(client, data, **kwargs):
    return client.post("/assets/bulk/", data, **kwargs)


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def test_library_grid_offers_selection_and_the_bar(client_for, alice, pair):
    html = client_for(alice).get("/").content.decode()
    assert html.count('data-testid="select-asset"') == 2
    assert f'<input type="checkbox" name="asset" value="{pair[0].pk}" form="bulk-form"' in html
    assert 'data-testid="bulk-bar"' in html and 'data-testid="bulk-action"' in html
    assert '<form id="bulk-form" method="post" action="/assets/bulk/"' in html
    assert "csrfmiddlewaretoken" in html
    assert 'src="/static/portal/selection.js"' in html
    for label in (
        "Add tags",
        "Remove tags",
        "Set visibility",
        "Move to team",
        "Add to collection",
        "Reprocess",
        "Delete…",
    ):
        assert f">{label}</option>" in html
    # the select-all control is for JavaScript only (it does nothing without it)
    assert re.search(r"data-select-all-wrap hidden", html)


def test_add_tags_to_two_assets(client_for, alice, pair):
    response = post(
        client_for(alice),
        {"action": "add_tags", "tags": "Summer, lake", "asset": [a.pk for a in pair], "next": "/?tag=summer"},
        follow=True,
    )
    assert response.redirect_chain[-1][0] == "/?tag=summer"
    assert "Tagged 2 assets." in messages_of(response)
    assert all(a.tags == ["summer", "lake"] for a in Asset.objects.all())


def test_bob_cannot_bulk_edit(client_for, bob, pair):
    response = post(
        client_for(bob), {"action": "add_tags", "tags": "vandal", "asset": [a.pk for a in pair]}, follow=True
    )
    assert response.status_code == 200
    assert "Tagged 0 assets. Skipped 2 assets: you may not edit them (or they no longer exist)." in messages_of(
        response
    )
    assert not Asset.objects.filter(tags__contains=["vandal"]).exists()
    for action in ("reprocess", "delete"):
        post(client_for(bob), {"action": action, "asset": [a.pk for a in pair], "confirm": "1"})
    assert Asset.objects.count() == 2
    assert set(Asset.objects.values_list("status", flat=True)) == {Status.READY}


def test_other_peoples_ids_change_nothing(client_for, charlie, pair):
    for data in (
        {"action": "set_visibility", "visibility": "private"},
        {"action": "delete", "confirm": "1"},
        {"action": "add_tags", "tags": "x"},
    ):
        post(client_for(charlie), {**data, "asset": [a.pk for a in pair]})
    assert Asset.objects.filter(visibility=Visibility.TEAM, tags=[]).count() == 2


def test_delete_asks_with_the_count_then_deletes(client_for, alice, bob, pair):
    other = make_asset(bob)  # not alice's: counted as skipped
    client = client_for(alice)
    ids = [pair[0].pk, pair[1].pk, other.pk]
    confirm = post(client, {"action": "delete", "asset": ids, "next": "/"})
    assert confirm.status_code == 200
    html = confirm.content.decode()
    assert "Move 2 assets to the trash?" in html
    assert "1 selected asset will be skipped" in html
    assert Asset.objects.alive().count() == 3  # nothing yet
    assert html.count('name="asset"') == 3
    response = post(client, {"action": "delete", "asset": ids, "confirm": "1", "next": "/"}, follow=True)
    assert "Moved to the trash: 2 assets." in messages_of(response)[0]
    assert list(Asset.objects.alive()) == [other]
    assert set(Asset.objects.in_trash_of(alice)) == set(pair)


def test_needs_its_parameter_and_a_selection(client_for, alice, pair):
    client = client_for(alice)
    response = post(client, {"action": "set_visibility", "asset": pair[0].pk}, follow=True)
    assert any("Choose a visibility for this action." in m for m in messages_of(response))
    response = post(client, {"action": "reprocess"}, follow=True)
    assert "Select at least one asset first." in messages_of(response)
    response = post(client, {"action": "reprocess", "asset": "abc"}, follow=True)
    assert any("not valid" in m for m in messages_of(response))


def test_move_to_team_only_offers_my_editor_teams(client_for, alice, charlie, pair, other_team):
    html = client_for(alice).get("/").content.decode()
    bar = html[html.index('id="bulk-form"') :]
    assert ">Studio</option>" in bar and "Newsroom" not in bar
    response = post(
        client_for(alice), {"action": "move_to_team", "team": other_team.pk, "asset": pair[0].pk}, follow=True
    )
    assert any("Select a valid choice" in m for m in messages_of(response))
    assert Asset.objects.get(pk=pair[0].pk).team.slug == "studio"


def test_get_is_not_allowed_and_csrf_is_checked(client_for, alice, pair):
    assert client_for(alice).get("/assets/bulk/").status_code == 405
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(alice)
    assert post(strict, {"action": "add_tags", "tags": "x", "asset": pair[0].pk}).status_code == 403
    assert not Asset.objects.filter(tags__contains=["x"]).exists()


def test_next_must_be_local(client_for, alice, pair):
    response = post(client_for(alice), {"action": "reprocess", "asset": pair[0].pk, "next": "https://evil.example/"})
    assert response["Location"] == "/"
