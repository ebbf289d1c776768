"""Team membership changes: existing staff accounts only, and a team always keeps a manager."""

import pytest
from django.contrib.auth import get_user_model

from assets import teams
from assets.models import Membership, Role

pytestmark = pytest.mark.django_db


def test_add_member_rules(other_team, charlie, alice, dave_nonstaff):
    membership = teams.add_member(other_team, " ALICE ", Role.EDITOR)
    assert (membership.user, membership.role) == (alice, Role.EDITOR)
    with pytest.raises(teams.TeamError, match="already a member"):
        teams.add_member(other_team, "alice", Role.VIEWER)
    with pytest.raises(teams.TeamError, match="no active account"):
        teams.add_member(other_team, "nobody", Role.VIEWER)
    with pytest.raises(teams.TeamError, match="not a staff account"):
        teams.add_member(other_team, "dave", Role.VIEWER)
    with pytest.raises(teams.TeamError, match="viewer, editor or manager"):
        teams.add_member(other_team, "alice", "owner")
    assert Membership.objects.filter(team=other_team).count() == 2


@pytest.fixture
def dave_nonstaff(db):
    return get_user_model().objects.create_user(username="dave", password="pw", is_staff=False)


def test_last_manager_stays(other_team, charlie, alice):
    only = Membership.objects.get(team=other_team, user=charlie)
    with pytest.raises(teams.TeamError, match="at least one manager"):
        teams.set_role(only, Role.VIEWER)
    with pytest.raises(teams.TeamError, match="at least one manager"):
        teams.remove_member(only)
    second = teams.add_member(other_team, "alice", Role.MANAGER)
    teams.set_role(only, Role.VIEWER)
    assert Membership.objects.get(pk=only.pk).role == Role.VIEWER
    with pytest.raises(teams.TeamError):
        teams.remove_member(second)
    teams.remove_member(only)
    assert list(Membership.objects.filter(team=other_team).values_list("user__username", flat=True)) == ["alice"]


def test_manages(team, alice, bob, charlie, admin_user, other_team):
    assert not teams.manages(alice, team)
    assert teams.manages(charlie, other_team)
    assert not teams.manages(charlie, team)
    assert teams.manages(admin_user, team)
