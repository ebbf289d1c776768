"""Input that looks valid but that the database or Django refuses answers a clean 4xx in JSON, never a 500
or an HTML page."""

from __future__ import annotations

import pytest
from django.test import Client

from assets.models import Asset
from tests.assets.conftest import unique_jpeg
from tests.conftest import upload_bytes

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("offset", ["+16:00", "-16:00", "+23:59", "+15:60"])
@pytest.mark.parametrize("name", ["created_before", "created_after", "taken_before", "taken_after"])
def test_utc_offsets_postgresql_cannot_take_are_refused(name, offset, alice, api_for):
    response = api_for(alice).get("/api/v1/assets/", {name: f"2020-02-02T02:23:23{offset}"})
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/json"
    assert name in response.json()


@pytest.mark.parametrize("offset", ["+15:59", "-15:59", "Z", "+05:30"])
def test_utc_offsets_within_range_are_used(offset, alice, api_for):
    api = api_for(alice)
    api.post("/api/v1/assets/", {"file": upload_bytes(unique_jpeg(), "a.jpg")}, format="multipart")
    assert api.get("/api/v1/assets/", {"created_after": f"2020-02-02T02:23:23{offset}"}).json()["count"] == 1
    assert api.get("/api/v1/assets/", {"created_before": f"2020-02-02T02:23:23{offset}"}).json()["count"] == 0


def test_audit_log_dates_are_checked_the_same_way(admin_user, api_for):
    response = api_for(admin_user).get("/api/v1/audit/", {"since": "2020-02-02T02:23:23+16:00"})
    assert response.status_code == 400 and "since" in response.json()


@pytest.mark.parametrize("tags", [False, True, 3, {"a": 1}, None])
def test_tags_of_the_wrong_type_are_refused(tags, alice, api_for):
    api = api_for(alice)
    created = api.post("/api/v1/assets/", {"file": upload_bytes(unique_jpeg(), "a.jpg")}, format="multipart")
    asset_id = created.json()["id"]
    response = api.patch(f"/api/v1/assets/{asset_id}/", {"tags": tags}, format="json")
    assert response.status_code == 400, response.content
    assert "tags" in response.json()
    assert Asset.objects.get(pk=asset_id).tags == []


def _uploaded(api) -> int:
    return api.post("/api/v1/assets/", {"file": upload_bytes(unique_jpeg(), "a.jpg")}, format="multipart").json()["id"]


# PostgreSQL refuses text holding a NUL character (U+0000) outright; DRF's CharFields refuse it, the fields
# below must too, before anything reaches the database.
@pytest.mark.parametrize("body", [{"tags": ["beach\x00"]}, {"tags": "beach,\x00"}, {"team": "studio\x00"}])
@pytest.mark.parametrize("how", ["json", "multipart"])
def test_null_characters_in_tags_or_team_are_refused_on_edit(body, how, alice, team, api_for):
    api = api_for(alice)
    asset_id = _uploaded(api)
    response = api.patch(f"/api/v1/assets/{asset_id}/", body, format=how)
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/json"
    assert "null characters" in str(response.json()[next(iter(body))]).lower()
    asset = Asset.objects.get(pk=asset_id)
    assert asset.tags == [] and asset.team is None


@pytest.mark.parametrize("field", ["tags", "team"])
@pytest.mark.parametrize("path", ["/api/v1/assets/", "/api/v1/assets/bulk/"])
def test_null_characters_in_tags_or_team_are_refused_on_upload(field, path, alice, team, api_for, storage_unchanged):
    files = {"file": upload_bytes(unique_jpeg(), "a.jpg")} if path.endswith("assets/") else {
        "files": [upload_bytes(unique_jpeg(), "a.jpg")]}
    response = api_for(alice).post(path, {**files, field: "studio\x00"}, format="multipart")
    assert response.status_code == 400, response.content
    assert "null characters" in str(response.json()[field]).lower()
    assert not Asset.objects.exists()


@pytest.mark.parametrize("value", [str(2**63), str(10**30), "1e30", "-1", "0", "1.5"])
def test_audit_log_asset_filter_takes_ids_the_database_can_hold(value, admin_user, api_for):
    response = api_for(admin_user).get("/api/v1/audit/", {"asset": value})
    assert response.status_code == 400, response.content
    assert "asset" in response.json()


def test_audit_log_asset_filter_still_finds_the_largest_id(alice, admin_user, api_for):
    api = api_for(alice)
    asset_id = _uploaded(api)
    admin = api_for(admin_user)
    assert admin.get("/api/v1/audit/", {"asset": asset_id}).json()["count"] == 1
    assert admin.get("/api/v1/audit/", {"asset": 2**63 - 1}).json()["count"] == 0


DEEP = 100_000


@pytest.mark.parametrize("body", ["[" * DEEP, '{"ids": ' * DEEP, '{"ids": ' + "[" * DEEP + "]" * DEEP + "}"])
@pytest.mark.parametrize("path", ["/api/v1/trash/restore/", "/api/v1/assets/{id}/", "/api/v1/auth/token/"])
def test_json_nested_too_deeply_for_the_decoder_is_a_400(body, path, alice):
    """Python's JSON decoder gives up with a RecursionError (not the ValueError DRF answers with a 400)."""
    client = Client()
    client.force_login(alice)
    asset_id = client.post("/api/v1/assets/", {"file": upload_bytes(unique_jpeg(), "a.jpg")}).json()["id"]
    method = "PATCH" if "{id}" in path else "POST"
    response = client.generic(method, path.format(id=asset_id), body, content_type="application/json")
    assert response.status_code == 400, response.content[:300]
    assert response.json() == {"detail": "JSON parse error - the body is nested too deeply."}
    assert client.generic("POST", "/api/v1/trash/restore/", '{"ids": [1]}', content_type="application/json").json() == {
        "done": [], "skipped": [1]}


def _multipart(parts: list[tuple[str, str | None, bytes]]) -> tuple[bytes, str]:
    boundary = "----mediavault-many"
    chunks = []
    for name, filename, data in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        chunks.append(f"--{boundary}\r\nContent-Disposition: {disposition}\r\n\r\n".encode() + data + b"\r\n")
    return b"".join(chunks) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def test_too_many_files_answer_json_400(alice, settings, storage_unchanged):
    settings.DATA_UPLOAD_MAX_NUMBER_FILES = 5  # the same check as at the default 1,000, with fewer files
    body, content_type = _multipart([("files", f"{i}.jpg", unique_jpeg()) for i in range(6)])
    client = Client()
    client.force_login(alice)
    response = client.generic("POST", "/api/v1/assets/bulk/", body, content_type=content_type)
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert "Too many files" in response.json()["detail"] and "at most 5" in response.json()["detail"]
    assert not Asset.objects.exists()


@pytest.mark.parametrize("how", ["multipart", "urlencoded", "query"])
def test_too_many_fields_answer_json_400(how, alice, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 20
    client = Client()
    client.force_login(alice)
    fields = [(f"f{i}", None, b"x") for i in range(30)]
    if how == "multipart":
        body, content_type = _multipart([*fields, ("file", "a.jpg", unique_jpeg())])
        response = client.generic("POST", "/api/v1/assets/", body, content_type=content_type)
    elif how == "urlencoded":
        body = "&".join(f"{name}=x" for name, _, _ in fields)
        response = client.generic("POST", "/api/v1/assets/", body, content_type="application/x-www-form-urlencoded")
    else:
        response = client.get("/api/v1/assets/?" + "&".join(f"{name}=x" for name, _, _ in fields))
    assert response.status_code == 400, response.content[:300]
    assert response["Content-Type"] == "application/json"
    assert "Too many fields" in response.json()["detail"]
    assert not Asset.objects.exists()


def test_the_portal_keeps_its_html_400_page(alice, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FILES = 2
    body, content_type = _multipart([("files", f"{i}.jpg", unique_jpeg()) for i in range(3)])
    client = Client()
    client.force_login(alice)
    response = client.generic("POST", "/upload/", body, content_type=content_type)
    assert response.status_code == 400 and response["Content-Type"].startswith("text/html")
