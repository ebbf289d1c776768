"""The batched status endpoint (one request for many cards) and the upload page's JSON answers."""

import pytest

from assets.models import Asset, Status, Visibility
from tests.conftest import make_jpeg, upload_bytes
from tests.portal.conftest import make_asset

pytestmark = pytest.mark.django_db


def test_status_of_many_assets_in_one_request(client_for, alice, charlie, django_assert_max_num_queries):
    ready = make_asset(alice, title="ready")
    failed = make_asset(alice, status=Status.FAILED, renditions=False, error="truncated file")
    hidden = make_asset(charlie)
    client = client_for(alice)
    with django_assert_max_num_queries(4):  # session, user, assets, renditions
        response = client.get(f"/assets/status/?ids={ready.pk},{failed.pk},{hidden.pk},999999")
    assert response.status_code == 200
    rows = {row["id"]: row for row in response.json()["assets"]}
    assert set(rows) == {ready.pk, failed.pk}  # hidden and missing ids are simply absent
    assert rows[ready.pk]["status"] == "ready"
    assert rows[ready.pk]["thumb"] == f"/api/v1/assets/{ready.pk}/renditions/max256/"
    assert rows[ready.pk]["url"] == f"/assets/{ready.pk}/"
    assert rows[failed.pk] | {"thumb": None} == {
        "id": failed.pk,
        "title": failed.title,
        "status": "failed",
        "status_label": "Failed",
        "error": "truncated file",
        "url": f"/assets/{failed.pk}/",
        "thumb": None,
    }


def test_status_rejects_bad_or_too_many_ids(client_for, alice):
    client = client_for(alice)
    assert client.get("/assets/status/?ids=1,x").status_code == 400
    assert client.get("/assets/status/?ids=" + ",".join(str(i) for i in range(1, 502))).status_code == 400
    assert client.get("/assets/status/").json() == {"assets": []}


def test_status_needs_staff(client, alice):
    asset = make_asset(alice, visibility=Visibility.ORGANISATION)
    assert client.get(f"/assets/status/?ids={asset.pk}").status_code == 302


def test_upload_answers_json_for_the_script(client_for, alice):
    client = client_for(alice)
    data = make_jpeg(color=(10, 20, 30))
    response = client.post(
        "/upload/", {"files": [upload_bytes(data, "a.jpg")], "visibility": "private"}, HTTP_ACCEPT="application/json"
    )
    assert response.status_code == 200
    (row,) = response.json()["results"]
    asset = Asset.objects.get()
    assert row["status"] == "created" and row["id"] == asset.pk
    assert row["asset"]["status"] == "pending" and row["asset"]["url"] == f"/assets/{asset.pk}/"
    again = client.post(
        "/upload/", {"files": [upload_bytes(data, "b.jpg")], "visibility": "private"}, HTTP_ACCEPT="application/json"
    ).json()["results"][0]
    assert (again["status"], again["id"], again["reason"]) == ("duplicate", asset.pk, "you already uploaded this file")
    bad = client.post(
        "/upload/",
        {"files": [upload_bytes(b"not an image", "c.jpg")], "visibility": "private"},
        HTTP_ACCEPT="application/json",
    ).json()["results"][0]
    assert bad["status"] == "rejected" and bad["reason"]
    errors = client.post("/upload/", {"visibility": "team"}, HTTP_ACCEPT="application/json")
    assert errors.status_code == 400
    assert "files" in errors.json()["errors"]


def test_upload_page_script_and_overall_bar_are_local(client_for, alice):
    html = client_for(alice).get("/upload/").content.decode()
    assert 'src="/static/portal/upload.js"' in html
    from django.conf import settings

    script = (settings.BASE_DIR / "static" / "portal" / "upload.js").read_text()
    assert "data-upload-overall" in script and '"Transfer of "' in script
