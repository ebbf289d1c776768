"""Collections in the admin console: listed with owner, size and sharing; staff see only their own."""

import pytest

from assets.actions import collections
from assets.models import ShareRole
from tests.portal.conftest import make_asset

pytestmark = pytest.mark.django_db


def test_admin_lists_collections_with_size_and_shares(client_for, admin_user, alice, team):
    collection = collections.create_collection(alice, "Press kit")
    collections.add_assets(alice, collection, [make_asset(alice).pk, make_asset(alice).pk])
    collections.share_collection(alice, collection, team, ShareRole.EDITOR)
    client = client_for(admin_user)
    html = client.get("/admin/assets/collection/").content.decode()
    assert "Press kit" in html
    assert "Studio (editor)" in html
    assert '<td class="field-item_count">2</td>' in html
    change = client.get(f"/admin/assets/collection/{collection.pk}/change/")
    assert change.status_code == 200


def test_staff_in_admin_see_only_visible_collections(alice, charlie):
    from django.contrib.admin.sites import site
    from django.test import RequestFactory

    from assets.models import Collection

    collections.create_collection(alice, "Alice's")
    theirs = collections.create_collection(charlie, "Charlie's")
    request = RequestFactory().get("/admin/assets/collection/")
    request.user = charlie
    queryset = site._registry[Collection].get_queryset(request)
    assert list(queryset) == [theirs]
