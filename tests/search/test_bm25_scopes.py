"""Keyword statistics per visibility scope: no score moves with assets the caller may not see, and the
per-scope counts follow every write (visibility changes, trash, purge) exactly."""

from __future__ import annotations

import pytest

from assets import actions
from assets.models import Asset, Visibility
from search.bm25 import bm25_for_ids, bm25_scores
from search.scopes import ORGANISATION, scopes_for
from tests.search.conftest import assert_index_consistent, make_asset

pytestmark = pytest.mark.django_db


def _scores(user, query: str) -> dict[int, float]:
    hits = bm25_scores(query, visible=Asset.objects.visible_to(user), limit=50, scopes=scopes_for(user))
    return dict(hits)


@pytest.fixture
def shelf(alice, charlie, team):
    return {
        "org_zebra": make_asset(charlie, description="zebra crossing at night"),
        "org_other": make_asset(charlie, description="a bicycle at night"),
        "team_zebra": make_asset(alice, description="zebra herd", visibility=Visibility.TEAM, team=team),
    }


def test_a_callers_scores_do_not_move_with_other_peoples_private_assets(shelf, alice, charlie):
    before = _scores(charlie, "zebra at night")
    assert set(before) == {shelf["org_zebra"].pk, shelf["org_other"].pk}
    # Alice files twenty private zebras (and one team one Charlie cannot see either): a corpus-wide df
    # of "zebra" would change Charlie's idf, and so his scores, by the count of her private assets.
    for i in range(20):
        make_asset(alice, description=f"zebra study {i} at night", visibility=Visibility.PRIVATE)
    assert _scores(charlie, "zebra at night") == before
    # Her own scores do use them: her view has twenty more zebras.
    assert _scores(alice, "zebra")[shelf["org_zebra"].pk] < bm25_scores(
        "zebra", visible=Asset.objects.visible_to(charlie), limit=5, scopes=scopes_for(charlie)
    )[0][1]
    # Explanations score with the same statistics as the ranking.
    org_zebra = shelf["org_zebra"].pk
    assert bm25_for_ids("zebra at night", [org_zebra], scopes=scopes_for(charlie)) == {org_zebra: before[org_zebra]}
    assert_index_consistent()


def test_team_members_share_their_teams_statistics(shelf, alice, bob, charlie):
    # bob (Studio viewer) sees the team zebra; charlie does not, and neither do his statistics.
    assert set(_scores(bob, "zebra")) == {shelf["org_zebra"].pk, shelf["team_zebra"].pk}
    assert set(_scores(charlie, "zebra")) == {shelf["org_zebra"].pk}
    assert _scores(bob, "zebra")[shelf["org_zebra"].pk] < _scores(charlie, "zebra")[shelf["org_zebra"].pk]
    assert set(scopes_for(bob)) == {ORGANISATION, bob.pk, -shelf["team_zebra"].team_id}


def test_moving_an_asset_between_scopes_moves_its_counts(shelf, alice, team):
    team_zebra = shelf["team_zebra"]
    actions.update_asset(alice, team_zebra.pk, {"visibility": Visibility.ORGANISATION})
    assert_index_consistent()
    actions.update_asset(alice, team_zebra.pk, {"visibility": Visibility.PRIVATE})
    assert_index_consistent()
    actions.trash(alice, [team_zebra.pk])
    assert_index_consistent()
    actions.restore(alice, [team_zebra.pk])
    actions.update_asset(alice, team_zebra.pk, {"visibility": Visibility.TEAM, "team": team})
    assert_index_consistent()


def test_superusers_and_tools_use_every_document(shelf, admin_user):
    assert scopes_for(admin_user) is None and scopes_for(None) is None
    everything = bm25_scores("zebra", visible=None, limit=10)
    assert dict(everything) == _scores(admin_user, "zebra")
