"""The asset and team admin: list columns, the vectors column without N+1 queries, filters and actions."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from assets.models import ActiveModel, Asset, Embedding, EmbeddingStatus, Status, Visibility
from tests.portal.conftest import make_asset

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/assets/asset/"


def _with_vectors(owner, **fields) -> Asset:
    asset = make_asset(owner, **fields)
    Embedding.objects.create(asset=asset, kind="text", model_id="text-test", dim=3, vector=[1, 0, 0])
    Embedding.objects.create(asset=asset, kind="image", model_id="clip-test", dim=2, vector=[0, 1])
    return asset


def _changelist_queries(client) -> tuple[int, str]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(CHANGELIST)
    assert response.status_code == 200
    return len(queries), response.content.decode()


def test_asset_list_shows_columns_and_costs_the_same_queries_for_3_or_9_assets(admin_user, alice, team, client_for):
    client = client_for(admin_user)
    for _ in range(3):
        _with_vectors(alice, team=team, visibility=Visibility.TEAM)
    few, page = _changelist_queries(client)
    for _ in range(6):
        _with_vectors(alice, team=team, visibility=Visibility.TEAM)
    make_asset(alice, status=Status.FAILED, error="processing failed: UnidentifiedImageError: cannot identify")
    many, page = _changelist_queries(client)

    assert many == few, "the asset list must not query per row"
    assert "image: clip-test · text: text-test" in page
    assert "processing failed: UnidentifiedImageError" in page
    shown = Asset.objects.filter(status=Status.READY).first()
    assert f'src="{reverse("api:asset-rendition", args=[shown.pk, "max256"])}"' in page  # thumbnails
    assert ">alice<" in page and ">Studio<" in page and ">Team<" in page


def test_missing_vector_filter_lists_assets_without_a_vector_of_the_active_model(admin_user, alice, client_for):
    ActiveModel.objects.create(kind="image", available=True, model_id="clip-test", dim=2)
    current = _with_vectors(alice)
    stale = make_asset(alice)
    Embedding.objects.create(asset=stale, kind="image", model_id="clip-retired", dim=2, vector=[1, 0])
    none = make_asset(alice)

    response = client_for(admin_user).get(CHANGELIST, {"missing_embedding": "image"})
    listed = {asset.pk for asset in response.context["cl"].result_list}
    assert listed == {stale.pk, none.pk}
    assert current.pk not in listed


def test_status_type_and_team_filters_are_offered(admin_user, client_for, team):
    filters = {f.title for f in client_for(admin_user).get(CHANGELIST).context["cl"].filter_specs}
    assert {"status", "mime type", "team", "missing vector (active model)"} <= filters


def _run_action(client, action: str, assets) -> None:
    response = client.post(CHANGELIST, {"action": action, "_selected_action": [a.pk for a in assets]})
    assert response.status_code == 302, response.content[:500]


def test_actions_reprocess_reembed_and_trash(admin_user, alice, client_for):
    client = client_for(admin_user)
    failed = make_asset(alice, status=Status.FAILED, error="decoder exploded")
    embed_failed = make_asset(alice, embedding_status=EmbeddingStatus.FAILED, embedding_error="out of memory")
    doomed = make_asset(alice)

    _run_action(client, "reprocess", [failed])
    failed.refresh_from_db()
    assert (failed.status, failed.error) == (Status.PENDING, "")

    _run_action(client, "reembed", [embed_failed])
    embed_failed.refresh_from_db()
    assert (embed_failed.embedding_status, embed_failed.embedding_error) == (EmbeddingStatus.PENDING, "")

    _run_action(client, "move_to_trash", [doomed])
    assert Asset.objects.get(pk=doomed.pk).in_trash


def test_team_page_edits_memberships_inline(admin_user, alice, bob, team, client_for):
    page = client_for(admin_user).get(f"/admin/assets/team/{team.pk}/change/").content.decode()
    assert 'id="memberships-group"' in page
    assert page.count('name="memberships-') > 0
    for user in (alice, bob):
        assert f'value="{user.pk}"' in page


def test_team_list_costs_the_same_queries_for_1_or_6_teams(admin_user, alice, client_for):
    from assets.models import Membership, Role, Team

    client = client_for(admin_user)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/admin/assets/team/").status_code == 200
        return len(captured)

    Team.objects.create(name="T0", slug="t0")
    few = queries()
    for i in range(1, 6):
        team = Team.objects.create(name=f"T{i}", slug=f"t{i}")
        Membership.objects.create(team=team, user=alice, role=Role.VIEWER)
    assert queries() == few


def _staff_with(user, *codenames):
    from django.contrib.auth.models import Permission

    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="assets", codename__in=codenames))
    return user


def test_admin_edits_follow_the_rules_of_every_other_door(alice, bob, charlie, team, other_team, client_for):
    """A staff user with the admin's view and change permissions still edits only what they may edit
    elsewhere, never the owner, only into their own teams, and through the actions (audited)."""
    from assets.models import AuditEntry

    _staff_with(charlie, "view_asset", "change_asset")
    alices = make_asset(alice, visibility=Visibility.ORGANISATION, title="Alice's")
    charlies = make_asset(charlie, visibility=Visibility.ORGANISATION, title="Charlie's")
    client = client_for(charlie)
    url = f"/admin/assets/asset/{alices.pk}/change/"

    page = client.get(url)
    assert page.status_code == 200  # he may see it...
    assert 'name="title"' not in page.content.decode()  # ...but gets no form to change it
    response = client.post(url, {"title": "Mine now", "owner": charlie.pk, "team": other_team.pk,
                                 "visibility": "organisation", "tags": "", "description": "", "caption": ""})
    assert response.status_code == 403
    alices.refresh_from_db()
    assert (alices.owner, alices.title) == (alice, "Alice's")

    own = client.get(f"/admin/assets/asset/{charlies.pk}/change/").content.decode()
    assert 'name="title"' in own and 'name="owner"' not in own  # only an administrator gives assets away
    team_options = own.split('name="team"')[1].split("</select>")[0]
    assert "Newsroom" in team_options and "Studio" not in team_options  # only teams he files under
    before = AuditEntry.objects.count()
    response = client.post(f"/admin/assets/asset/{charlies.pk}/change/", {
        "title": "Renamed", "team": team.pk, "visibility": "team", "tags": "", "description": "", "caption": "",
    })
    assert response.status_code == 200 and "Select a valid choice" in response.content.decode()
    response = client.post(f"/admin/assets/asset/{charlies.pk}/change/", {
        "title": "Renamed", "team": other_team.pk, "visibility": "team", "tags": "", "description": "", "caption": "",
    })
    assert response.status_code == 302, response.content[:2000]
    charlies.refresh_from_db()
    assert (charlies.title, charlies.team, charlies.owner) == ("Renamed", other_team, charlie)
    entry = AuditEntry.objects.latest("id")
    assert AuditEntry.objects.count() == before + 1
    assert (entry.action, entry.actor_name, entry.changes["title"]) == ("asset.updated", "charlie",
                                                                         ["Charlie's", "Renamed"])
