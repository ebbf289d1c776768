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
