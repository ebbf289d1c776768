"""Team pages: everyone sees their teams and role; only managers see and change members."""

import pytest

from assets.models import Membership, Role

pytestmark = pytest.mark.django_db


def test_team_list_shows_my_teams_and_role(client_for, alice, bob, charlie):
    html = client_for(bob).get("/teams/").content.decode()
    assert 'data-team="studio"' in html and "Newsroom" not in html
    assert 'data-testid="team-role">Viewer<' in html
    assert "Manage members" not in html
    html = client_for(charlie).get("/teams/").content.decode()
    assert 'href="/teams/newsroom/">Manage members</a>' in html


def test_non_managers_get_403_and_outsiders_404(client_for, alice, bob, charlie):
    assert client_for(alice).get("/teams/studio/").status_code == 403  # editor, not manager
    assert client_for(bob).get("/teams/studio/").status_code == 403
    assert client_for(charlie).get("/teams/studio/").status_code == 404
    assert client_for(alice).get("/teams/newsroom/").status_code == 404
    assert (
        client_for(alice).post("/teams/newsroom/members/", {"username": "alice", "role": "manager"}).status_code == 404
    )
    assert client_for(bob).post("/teams/studio/members/", {"username": "bob", "role": "manager"}).status_code == 403
    membership = Membership.objects.get(user=bob)
    assert client_for(bob).post(f"/teams/studio/members/{membership.pk}/role/", {"role": "manager"}).status_code == 403
    assert client_for(charlie).post(f"/teams/studio/members/{membership.pk}/remove/").status_code == 404
    membership.refresh_from_db()
    assert membership.role == Role.VIEWER
    assert not Membership.objects.filter(user=alice, team__slug="newsroom").exists()


def test_manager_adds_sets_role_and_removes(client_for, alice, charlie):
    client = client_for(charlie)
    page = client.get("/teams/newsroom/").content.decode()
    assert 'data-username="charlie"' in page and 'data-testid="member-add-form"' in page
    response = client.post("/teams/newsroom/members/", {"username": "alice", "role": "editor"}, follow=True)
    assert "Added alice as editor." in response.content.decode()
    membership = Membership.objects.get(user=alice, team__slug="newsroom")
    assert membership.role == Role.EDITOR
    client.post(f"/teams/newsroom/members/{membership.pk}/role/", {"role": "manager"})
    membership.refresh_from_db()
    assert membership.role == Role.MANAGER
    client.post(f"/teams/newsroom/members/{membership.pk}/remove/")
    assert not Membership.objects.filter(pk=membership.pk).exists()


def test_errors_are_explained(client_for, charlie):
    client = client_for(charlie)
    html = client.post("/teams/newsroom/members/", {"username": "ghost", "role": "viewer"}, follow=True)
    assert "There is no active account named “ghost”." in html.content.decode()
    own = Membership.objects.get(user=charlie)
    html = client.post(f"/teams/newsroom/members/{own.pk}/role/", {"role": "viewer"}, follow=True).content.decode()
    assert "A team needs at least one manager" in html
    own.refresh_from_db()
    assert own.role == Role.MANAGER


def test_membership_of_another_team_is_404(client_for, alice, charlie):
    alices = Membership.objects.get(user=alice)
    response = client_for(charlie).post(f"/teams/newsroom/members/{alices.pk}/remove/")
    assert response.status_code == 404
    assert Membership.objects.filter(pk=alices.pk).exists()
