"""Collection pages: create, rename, add and remove, share; 404 for collections one may not see."""

import re

import pytest

from assets.actions import collections
from assets.models import Collection, ShareRole, Visibility
from tests.portal.conftest import make_asset

pytestmark = pytest.mark.django_db


def card_ids(response) -> set[int]:
    return {int(pk) for pk in re.findall(r'data-asset-id="(\d+)"', response.content.decode())}


@pytest.fixture
def shared(alice, team):
    """alice's "Launch" collection, shared with Studio as viewer: a team asset and her private one."""
    collection = collections.create_collection(alice, "Launch")
    team_asset = make_asset(alice, title="team shot", visibility=Visibility.TEAM, team=team)
    private = make_asset(alice, title="private shot")
    collections.add_assets(alice, collection, [team_asset.pk, private.pk])
    collections.share_collection(alice, collection, team, ShareRole.VIEWER)
    return collection, team_asset, private


def test_create_from_the_list_page_and_find_it_in_the_nav(client_for, alice):
    client = client_for(alice)
    page = client.get("/").content.decode()
    assert 'href="/collections/"' in page and 'data-testid="nav-collections"' in page
    listing = client.get("/collections/").content.decode()
    assert "You have no collections yet" in listing
    response = client.post("/collections/new/", {"name": "  Spring  catalogue "})
    collection = Collection.objects.get()
    assert (collection.name, collection.owner) == ("Spring catalogue", alice)
    assert response["Location"] == f"/collections/{collection.pk}/"
    listing = client.get("/collections/").content.decode()
    assert 'data-testid="collection-row"' in listing and "Spring catalogue" in listing


def test_create_with_selected_assets(client_for, alice, charlie, other_team):
    mine = make_asset(alice)
    hidden = make_asset(charlie, visibility=Visibility.TEAM, team=other_team)
    client_for(alice).post("/collections/new/", {"name": "Picks", "asset": [mine.pk, hidden.pk]})
    assert list(Collection.objects.get().assets.all()) == [mine]


def test_blank_name_is_refused(client_for, alice):
    response = client_for(alice).post("/collections/new/", {"name": "   "}, follow=True)
    assert not Collection.objects.exists()
    assert "This field is required." in response.content.decode() or "needs a name" in response.content.decode()


def test_owner_page_grid_share_and_rename(client_for, alice, shared):
    collection, team_asset, private = shared
    response = client_for(alice).get(f"/collections/{collection.pk}/")
    html = response.content.decode()
    assert card_ids(response) == {team_asset.pk, private.pk}
    assert 'data-testid="collection-share"' in html
    assert 'data-testid="collection-rename-form"' in html
    assert "<strong>Studio</strong> · Viewer (can see the collection)" in html
    assert 'data-testid="collection-hidden"' not in html


def test_team_viewer_sees_collection_but_only_visible_assets(client_for, bob, shared):
    collection, team_asset, private = shared
    client = client_for(bob)
    assert "Launch" in client.get("/collections/").content.decode()
    response = client.get(f"/collections/{collection.pk}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert card_ids(response) == {team_asset.pk}
    assert "private shot" not in html
    assert "1 asset in this collection is hidden from you" in html
    assert 'data-testid="collection-share"' not in html  # only the owner shares
    assert 'data-testid="collection-rename-form"' not in html  # viewer share: no changes
    # and a hand-made POST is refused without changing anything
    assert client.post(f"/collections/{collection.pk}/rename/", {"name": "Mine now"}).status_code == 403
    assert client.post(f"/collections/{collection.pk}/remove/", {"asset": team_asset.pk}).status_code == 403
    assert client.post(f"/collections/{collection.pk}/share/", {"team": 1, "role": "editor"}).status_code == 403
    collection.refresh_from_db()
    assert collection.name == "Launch"
    assert collection.items.count() == 2
    assert collection.shares.get().role == ShareRole.VIEWER


@pytest.mark.parametrize(
    "method, suffix",
    [
        ("get", ""),
        ("post", "rename/"),
        ("post", "add/"),
        ("post", "remove/"),
        ("post", "share/"),
        ("get", "delete/"),
        ("post", "delete/"),
    ],
)
def test_outsider_gets_404_and_changes_nothing(client_for, charlie, shared, method, suffix):
    collection, team_asset, _ = shared
    data = {"name": "hijacked", "asset": team_asset.pk, "team": 1, "role": "editor"} if method == "post" else None
    response = getattr(client_for(charlie), method)(f"/collections/{collection.pk}/{suffix}", data)
    assert response.status_code == 404
    collection.refresh_from_db()
    assert collection.name == "Launch"
    assert collection.items.count() == 2
    assert Collection.objects.filter(pk=collection.pk).exists()


def test_outsider_cannot_see_it_anywhere(client_for, charlie, shared):
    collection, team_asset, _ = shared
    client = client_for(charlie)
    assert "Launch" not in client.get("/collections/").content.decode()
    library = client.get(f"/?collection={collection.pk}").content.decode()
    assert "Launch" not in library  # not offered as a filter either
    assert f'data-asset-id="{team_asset.pk}"' not in library
    assert client.get(f"/assets/{team_asset.pk}/").status_code == 404


def test_editor_share_lets_team_editors_change_it(client_for, alice, shared, team, charlie):
    collection, team_asset, private = shared
    collections.share_collection(alice, collection, team, ShareRole.EDITOR)
    from assets.models import Membership, Role

    Membership.objects.create(team=team, user=charlie, role=Role.EDITOR)
    client = client_for(charlie)
    response = client.post(f"/collections/{collection.pk}/rename/", {"name": "Launch v2"})
    assert response.status_code == 302
    collection.refresh_from_db()
    assert collection.name == "Launch v2"
    # charlie may remove what he sees, but not alice's private asset he cannot see
    client.post(f"/collections/{collection.pk}/remove/", {"asset": [team_asset.pk, private.pk]})
    assert list(collection.assets.all()) == [private]


def test_owner_adds_and_removes_from_the_asset_page(client_for, alice, charlie, other_team):
    asset = make_asset(alice, title="the shot")
    collection = collections.create_collection(alice, "Picks")
    client = client_for(alice)
    page = client.get(f"/assets/{asset.pk}/").content.decode()
    assert 'data-testid="collection-add-form"' in page
    assert f'<option value="{collection.pk}">Picks</option>' in page
    response = client.post(
        "/assets/bulk/",
        {"action": "add_to_collection", "collection": collection.pk, "asset": asset.pk, "next": f"/assets/{asset.pk}/"},
    )
    assert response["Location"] == f"/assets/{asset.pk}/"
    assert list(collection.assets.all()) == [asset]
    page = client.get(f"/assets/{asset.pk}/").content.decode()
    assert 'data-testid="asset-collection"' in page and "Remove from Picks" in page
    response = client.post(f"/collections/{collection.pk}/remove/", {"asset": asset.pk, "next": f"/assets/{asset.pk}/"})
    assert response["Location"] == f"/assets/{asset.pk}/"
    assert not collection.assets.exists()
    # another person's collection id is a 404 even with a visible asset
    theirs = collections.create_collection(charlie, "Theirs")
    assert client.post(f"/collections/{theirs.pk}/add/", {"asset": asset.pk}).status_code == 404
    assert not theirs.assets.exists()


def test_share_and_unshare(client_for, alice, bob, team):
    collection = collections.create_collection(alice, "Later")
    client = client_for(alice)
    client.post(f"/collections/{collection.pk}/share/", {"team": team.pk, "role": "editor"})
    assert collection.shares.get().role == ShareRole.EDITOR
    assert Collection.objects.visible_to(bob).exists()
    client.post(f"/collections/{collection.pk}/share/{team.pk}/remove/")
    assert not collection.shares.exists()
    assert client_for(bob).get(f"/collections/{collection.pk}/").status_code == 404


def test_delete_keeps_assets(client_for, alice, shared):
    collection, team_asset, _ = shared
    client = client_for(alice)
    confirm = client.get(f"/collections/{collection.pk}/delete/").content.decode()
    assert "Its 2 assets stay in the library" in confirm
    assert client.post(f"/collections/{collection.pk}/delete/")["Location"] == "/collections/"
    assert not Collection.objects.exists()
    team_asset.refresh_from_db()


def test_library_filter_by_collection(client_for, alice, shared):
    collection, team_asset, private = shared
    other = make_asset(alice)
    client = client_for(alice)
    assert card_ids(client.get(f"/?collection={collection.pk}")) == {team_asset.pk, private.pk}
    assert card_ids(client.get("/")) == {team_asset.pk, private.pk, other.pk}
