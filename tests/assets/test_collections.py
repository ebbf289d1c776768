"""Collections: who sees and changes them, and that they never widen what anyone sees of assets."""

import pytest

from assets import collections as collection_reads
from assets.actions import collections
from assets.models import Asset, Collection, CollectionItem, Membership, Role, ShareRole, Visibility
from tests.portal.conftest import make_asset

pytestmark = pytest.mark.django_db


@pytest.fixture
def studio_collection(alice, bob, team):
    """alice's collection shared with Studio as viewer: a team asset, an org asset and her private one."""
    collection = collections.create_collection(alice, "  Summer   campaign ")
    items = {
        "team": make_asset(alice, visibility=Visibility.TEAM, team=team),
        "org": make_asset(alice, visibility=Visibility.ORGANISATION),
        "private": make_asset(alice),
    }
    change = collections.add_assets(alice, collection, [a.pk for a in items.values()])
    assert change == collections.Change(changed=3, unchanged=0, skipped=0)
    collections.share_collection(alice, collection, team, ShareRole.VIEWER)
    return collection, items


def test_name_is_tidied_and_required(alice):
    assert collections.create_collection(alice, "  a \n  b ").name == "a b"
    with pytest.raises(collections.CollectionError, match="needs a name"):
        collections.create_collection(alice, "   ")
    with pytest.raises(collections.CollectionError, match="at most 120"):
        collections.create_collection(alice, "x" * 121)


def test_who_sees_and_edits(studio_collection, alice, bob, charlie, admin_user, team):
    collection, _ = studio_collection
    assert set(Collection.objects.visible_to(alice)) == {collection}
    assert set(Collection.objects.visible_to(bob)) == {collection}
    assert not Collection.objects.visible_to(charlie).exists()
    assert set(Collection.objects.visible_to(admin_user)) == {collection}
    # Shared as viewer: bob and even an editor of the team may not change it.
    assert not collection.is_editable_by(bob)
    carol = Membership.objects.create(team=team, user=_staff("carol"), role=Role.EDITOR).user
    assert not collection.is_editable_by(carol)
    collections.share_collection(alice, collection, team, ShareRole.EDITOR)
    # As editor: team editors and managers may change it, team viewers still may not.
    assert collection.is_editable_by(carol)
    assert not collection.is_editable_by(bob)
    assert collection.is_editable_by(alice)
    assert not collection.is_editable_by(charlie)


def _staff(username):
    from django.contrib.auth import get_user_model

    return get_user_model().objects.create_user(username=username, password="pw", is_staff=True)


def test_contents_never_widen_visibility(studio_collection, alice, bob):
    collection, items = studio_collection
    mine = collection_reads.contents(alice, collection, Asset.objects.visible_to(alice))
    assert set(mine.assets) == set(items.values())
    assert (mine.visible, mine.hidden) == (3, 0)
    bobs = collection_reads.contents(bob, collection, Asset.objects.visible_to(bob))
    assert set(bobs.assets) == {items["team"], items["org"]}
    assert (bobs.visible, bobs.hidden) == (2, 1)


def test_only_visible_assets_can_be_added(alice, charlie, other_team):
    collection = collections.create_collection(alice, "Mine")
    hidden = make_asset(charlie, visibility=Visibility.TEAM, team=other_team)
    org = make_asset(charlie, visibility=Visibility.ORGANISATION)
    change = collections.add_assets(alice, collection, [hidden.pk, org.pk, org.pk, 999_999])
    assert change == collections.Change(changed=1, unchanged=0, skipped=2)
    assert set(collection.assets.all()) == {org}
    again = collections.add_assets(alice, collection, [org.pk])
    assert again == collections.Change(changed=0, unchanged=1, skipped=0)
    assert CollectionItem.objects.filter(collection=collection).count() == 1


def test_remove_leaves_assets_hidden_from_the_remover(studio_collection, alice, team):
    collection, items = studio_collection
    collections.share_collection(alice, collection, team, ShareRole.EDITOR)
    carol = _staff("carol")
    Membership.objects.create(team=team, user=carol, role=Role.EDITOR)
    change = collections.remove_assets(carol, collection, [items["private"].pk, items["org"].pk])
    assert change == collections.Change(changed=1, unchanged=0, skipped=1)
    assert set(collection.assets.all()) == {items["team"], items["private"]}
    assert Asset.objects.filter(pk=items["org"].pk).exists()  # removing never deletes the asset


def test_only_the_owner_shares_and_only_with_own_teams(studio_collection, alice, bob, other_team, team):
    collection, _ = studio_collection
    with pytest.raises(collections.CollectionError, match="Only the owner"):
        collections.share_collection(bob, collection, team, ShareRole.EDITOR)
    with pytest.raises(collections.CollectionError, match="teams you belong to"):
        collections.share_collection(alice, collection, other_team, ShareRole.VIEWER)
    with pytest.raises(collections.CollectionError, match="viewer or editor"):
        collections.share_collection(alice, collection, team, "manager")
    assert list(collection.shares.values_list("team__slug", "role")) == [("studio", "viewer")]
    assert collections.unshare_collection(alice, collection, team.pk)
    assert not Collection.objects.visible_to(bob).exists()


def test_deleting_an_asset_or_collection_keeps_the_other(studio_collection):
    collection, items = studio_collection
    items["org"].delete()
    assert collection.items.count() == 2
    collections.delete_collection(collection.owner, collection)
    assert Asset.objects.filter(pk=items["team"].pk).exists()
    assert not CollectionItem.objects.exists()


def test_non_staff_and_inactive_see_no_collections(studio_collection, bob):
    bob.is_active = False
    bob.save()
    assert not Collection.objects.visible_to(bob).exists()
