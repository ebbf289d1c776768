"""Team membership changes: existing staff accounts only, and a team always keeps a manager."""

import pytest
from django.contrib.auth import get_user_model

from assets import teams
from assets.actions import teams as team_actions
from assets.models import Membership, Role

pytestmark = pytest.mark.django_db


def test_add_member_rules(other_team, charlie, alice, dave_nonstaff):
    membership = team_actions.add_member(None, other_team, " ALICE ", Role.EDITOR)
    assert (membership.user, membership.role) == (alice, Role.EDITOR)
    with pytest.raises(team_actions.TeamError, match="already a member"):
        team_actions.add_member(None, other_team, "alice", Role.VIEWER)
    with pytest.raises(team_actions.TeamError, match="no active account"):
        team_actions.add_member(None, other_team, "nobody", Role.VIEWER)
    with pytest.raises(team_actions.TeamError, match="not a staff account"):
        team_actions.add_member(None, other_team, "dave", Role.VIEWER)
    with pytest.raises(team_actions.TeamError, match="viewer, editor or manager"):
        team_actions.add_member(None, other_team, "alice", "owner")
    assert Membership.objects.filter(team=other_team).count() == 2


@pytest.fixture
def dave_nonstaff(db):
    return get_user_model().objects.create_user(username="dave", password="pw", is_staff=False)


def test_last_manager_stays(other_team, charlie, alice):
    only = Membership.objects.get(team=other_team, user=charlie)
    with pytest.raises(team_actions.TeamError, match="at least one manager"):
        team_actions.set_role(None, only, Role.VIEWER)
    with pytest.raises(team_actions.TeamError, match="at least one manager"):
        team_actions.remove_member(None, only)
    second = team_actions.add_member(None, other_team, "alice", Role.MANAGER)
    team_actions.set_role(None, only, Role.VIEWER)
    assert Membership.objects.get(pk=only.pk).role == Role.VIEWER
    with pytest.raises(team_actions.TeamError):
        team_actions.remove_member(None, second)
    team_actions.remove_member(None, only)
    assert list(Membership.objects.filter(team=other_team).values_list("user__username", flat=True)) == ["alice"]


def test_manages(team, alice, bob, charlie, admin_user, other_team):
    assert not teams.manages(alice, team)
    assert teams.manages(charlie, other_team)
    assert not teams.manages(charlie, team)
    assert teams.manages(admin_user, team)
