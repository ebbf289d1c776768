"""Bulk actions: only editable assets change, the rest are counted as skipped, all in one transaction."""

import pytest
from django.db import connection

from assets.actions import bulk, collections
from assets.models import Asset, CollectionItem, Status, Visibility
from tests.portal.conftest import make_asset

pytestmark = pytest.mark.django_db


@pytest.fixture
def mixed(alice, bob, charlie, team, other_team):
    """What alice may edit (hers, a team asset of bob's) and may not (bob's private, charlie's org)."""
    return {
        "mine": make_asset(alice, tags=["lake"]),
        "team": make_asset(bob, visibility=Visibility.TEAM, team=team, tags=["kayak"]),
        "bob_private": make_asset(bob, team=team),
        "charlie_org": make_asset(charlie, visibility=Visibility.ORGANISATION, team=other_team),
    }


def ids(assets):
    return [a.pk for a in assets]


def tags_of(asset):
    return Asset.objects.get(pk=asset.pk).tags


def test_add_tags_changes_only_editable(mixed, alice, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        outcome = bulk.add_tags(alice, ids(mixed.values()), ["summer", "lake"])
    assert (outcome.changed, outcome.unchanged, outcome.skipped_total) == (2, 0, 2)
    assert tags_of(mixed["mine"]) == ["lake", "summer"]
    assert tags_of(mixed["team"]) == ["kayak", "summer", "lake"]
    assert tags_of(mixed["bob_private"]) == []
    assert tags_of(mixed["charlie_org"]) == []
    assert len(callbacks) == 1  # one embed request for the changed text of both
    assert "Tagged 2 assets." in outcome.message()
    assert "Skipped 2 assets" in outcome.message()


def test_remove_tags_and_unchanged(mixed, alice):
    outcome = bulk.remove_tags(alice, ids([mixed["mine"], mixed["team"]]), ["lake"])
    assert (outcome.changed, outcome.unchanged, outcome.skipped_total) == (1, 1, 0)
    assert tags_of(mixed["mine"]) == []
    assert tags_of(mixed["team"]) == ["kayak"]


def test_viewer_changes_nothing(mixed, bob, alice, team):
    alices_team_asset = make_asset(alice, visibility=Visibility.TEAM, team=team)  # bob sees it, as a viewer
    outcome = bulk.add_tags(bob, [mixed["mine"].pk, mixed["charlie_org"].pk, alices_team_asset.pk], ["x"])
    assert (outcome.changed, outcome.skipped_total) == (0, 3)
    outcome = bulk.delete(bob, [alices_team_asset.pk])
    assert outcome.changed == 0
    assert Asset.objects.filter(pk=alices_team_asset.pk).exists()
    assert not Asset.objects.filter(tags__contains=["x"]).exists()


def test_set_visibility_skips_team_without_team(alice, team):
    loose = make_asset(alice)
    filed = make_asset(alice, team=team)
    outcome = bulk.set_visibility(alice, [loose.pk, filed.pk], Visibility.TEAM)
    assert outcome.changed == 1
    assert outcome.skipped == {"they have no team (move them to a team first)": 1}
    assert Asset.objects.get(pk=filed.pk).visibility == Visibility.TEAM
    assert Asset.objects.get(pk=loose.pk).visibility == Visibility.PRIVATE


def test_move_to_team_needs_an_editor_role_there(mixed, alice, team, other_team):
    with pytest.raises(bulk.BulkError, match="Newsroom"):
        bulk.move_to_team(alice, [mixed["mine"].pk], other_team)
    assert Asset.objects.get(pk=mixed["mine"].pk).team is None
    outcome = bulk.move_to_team(alice, ids(mixed.values()), team)
    assert (outcome.changed, outcome.unchanged, outcome.skipped_total) == (1, 1, 2)
    assert Asset.objects.get(pk=mixed["mine"].pk).team == team


def test_add_to_collection_takes_visible_assets(mixed, alice, bob):
    collection = collections.create_collection(alice, "Picks")
    outcome = bulk.add_to_collection(alice, ids(mixed.values()), collection)
    # bob's private asset is hidden from alice; charlie's org asset is visible (not editable) and is added
    assert (outcome.changed, outcome.skipped_total) == (3, 1)
    assert set(collection.assets.all()) == {mixed["mine"], mixed["team"], mixed["charlie_org"]}
    with pytest.raises(bulk.BulkError, match="may not change that collection"):
        bulk.add_to_collection(bob, [mixed["team"].pk], collection)
    assert CollectionItem.objects.count() == 3


def test_reprocess_resets_status(mixed, alice, django_capture_on_commit_callbacks):
    Asset.objects.update(status=Status.FAILED, error="boom")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        outcome = bulk.reprocess(alice, ids(mixed.values()))
    assert outcome.changed == 2
    assert len(callbacks) == 1  # one enqueue, after commit, for both
    statuses = dict(Asset.objects.values_list("pk", "status"))
    assert statuses[mixed["mine"].pk] == Status.PENDING
    assert statuses[mixed["bob_private"].pk] == Status.FAILED


def test_delete_counts_and_moves_only_editable_to_the_trash(mixed, alice):
    assert bulk.count_deletable(alice, ids(mixed.values())) == (2, 2)
    outcome = bulk.delete(alice, ids(mixed.values()))
    assert outcome.message().startswith("Moved to the trash: 2 assets.")
    assert set(Asset.objects.alive().values_list("pk", flat=True)) == {mixed["bob_private"].pk, mixed["charlie_org"].pk}
    assert set(Asset.objects.filter(deleted_at__isnull=False).values_list("pk", flat=True)) == {
        mixed["mine"].pk, mixed["team"].pk
    }


def test_an_error_midway_rolls_back_the_whole_request(mixed, alice, monkeypatch):
    real_save = Asset.save
    calls = []

    def failing_save(asset, *args, **kwargs):
        calls.append(asset.pk)
        if len(calls) == 2:
            raise RuntimeError("disk on fire")
        real_save(asset, *args, **kwargs)

    monkeypatch.setattr(Asset, "save", failing_save)
    with pytest.raises(RuntimeError):
        bulk.add_tags(alice, ids(mixed.values()), ["partial"])
    assert not Asset.objects.filter(tags__contains=["partial"]).exists()
    assert connection.in_atomic_block  # the test's own transaction is still usable


def test_selection_limits(alice):
    with pytest.raises(bulk.BulkError, match="at least one"):
        bulk.reprocess(alice, [])
    with pytest.raises(bulk.BulkError, match="at most"):
        bulk.reprocess(alice, range(1, bulk.MAX_SELECTION + 2))
    with pytest.raises(bulk.BulkError, match="at least one tag"):
        bulk.add_tags(alice, [1], [])
