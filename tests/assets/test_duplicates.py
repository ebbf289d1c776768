"""Same bytes are stored once: a duplicate for the same owner, a shared blob across owners, and the file
goes only when its last asset is purged from the trash, after that has committed."""

from __future__ import annotations

import io

import pytest
from django.core.files.storage import default_storage
from django.db import transaction

from assets import actions, imaging
from assets.actions import uploads
from assets.models import Asset, Blob
from assets.processing import process_asset
from tests.assets.conftest import media_files, unique_jpeg
from tests.conftest import upload_bytes

pytestmark = pytest.mark.django_db


def post(api, data: bytes, name: str):
    return api.post("/api/v1/assets/", {"file": upload_bytes(data, name)}, format="multipart")


def test_same_bytes_same_owner_is_a_duplicate(alice, api_for):
    api = api_for(alice)
    data = unique_jpeg()
    before = media_files()

    first = post(api, data, "first.jpg")
    again = post(api, data, "renamed copy.jpg")

    assert first.status_code == 201 and first.json()["duplicate"] is False
    assert again.status_code == 200, again.content
    assert again.json()["duplicate"] is True
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["original_filename"] == "first.jpg"
    assert "already uploaded" in again.json()["detail"]
    assert Asset.objects.count() == 1
    assert media_files() - before == {Asset.objects.get().blob.name}


def test_bulk_reports_duplicates_within_and_across_requests(alice, api_for):
    api = api_for(alice)
    data, other = unique_jpeg(), unique_jpeg()
    post(api, data, "known.jpg")

    response = api.post(
        "/api/v1/assets/bulk/",
        {"files": [upload_bytes(data, "known-again.jpg"), upload_bytes(other, "new.jpg"),
                   upload_bytes(other, "new-twice.jpg")]},
        format="multipart",
    )

    assert response.status_code == 207
    assert [(r["filename"], r["status"]) for r in response.json()["results"]] == [
        ("known-again.jpg", "duplicate"), ("new.jpg", "created"), ("new-twice.jpg", "duplicate"),
    ]
    assert response.json()["counts"] == {"created": 1, "duplicate": 2, "rejected": 0}
    assert Asset.objects.count() == 2


def test_same_bytes_other_owner_is_a_new_asset_sharing_the_file(alice, charlie, api_for):
    data = unique_jpeg()
    before = media_files()

    mine = post(api_for(alice), data, "mine.jpg")
    theirs = post(api_for(charlie), data, "theirs.jpg")

    assert mine.status_code == 201 and theirs.status_code == 201
    assert theirs.json()["duplicate"] is False and theirs.json()["id"] != mine.json()["id"]
    a, c = Asset.objects.get(pk=mine.json()["id"]), Asset.objects.get(pk=theirs.json()["id"])
    assert (a.owner, c.owner) == (alice, charlie)
    assert a.blob_id == c.blob_id
    assert media_files() - before == {a.blob.name}  # one file for both


def test_purging_one_keeps_the_shared_file_and_the_last_removes_it_after_commit(
    alice, charlie, api_for, django_capture_on_commit_callbacks
):
    data = unique_jpeg()
    with django_capture_on_commit_callbacks():  # no ingest messages for rows the worker could never see
        first = post(api_for(alice), data, "a.jpg").json()["id"]
        second = post(api_for(charlie), data, "c.jpg").json()["id"]
    name = Asset.objects.get(pk=first).blob.name
    process_asset(first)  # renditions of alice's asset
    renditions = [r.blob.name for r in Asset.objects.get(pk=first).renditions.all()]
    assert len(renditions) == 2 and all(default_storage.exists(r) for r in renditions)

    # Deleting moves to the trash: nothing leaves storage yet.
    assert api_for(alice).delete(f"/api/v1/assets/{first}/").status_code == 204
    assert Asset.objects.get(pk=first).in_trash
    assert default_storage.exists(name) and all(default_storage.exists(r) for r in renditions)

    with django_capture_on_commit_callbacks(execute=True):
        assert api_for(alice).delete(f"/api/v1/trash/{first}/").status_code == 204
    assert not Asset.objects.filter(pk=first).exists()
    assert default_storage.exists(name), "charlie's asset still needs the shared original"
    assert not any(default_storage.exists(r) for r in renditions)

    assert api_for(charlie).delete(f"/api/v1/assets/{second}/").status_code == 204
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert api_for(charlie).delete(f"/api/v1/trash/{second}/").status_code == 204
    assert default_storage.exists(name), "files must stay until the purge has committed"
    for callback in callbacks:
        callback()
    assert not default_storage.exists(name)
    assert not Asset.objects.exists() and not Blob.objects.exists()


def test_a_rolled_back_purge_keeps_the_file(alice, django_capture_on_commit_callbacks):
    result = actions.upload_asset(alice, io.BytesIO(unique_jpeg()), "keep.jpg", actions.AssetOptions())
    name, pk = result.asset.blob.name, result.asset.pk
    actions.trash(alice, [pk])

    class Abort(Exception):
        pass

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(Abort), transaction.atomic():
        assert actions.purge(alice, [pk]) == [pk]
        raise Abort
    assert Asset.objects.filter(pk=pk).exists()
    assert default_storage.exists(name)


def test_losing_an_upload_race_returns_the_winner_and_stores_nothing_more(alice):
    """Two requests with the same bytes from one owner both pass the duplicate check; the unique constraint
    settles it. Here the loser's _store runs after the winner committed its row."""
    data = unique_jpeg()
    winner = actions.upload_asset(alice, io.BytesIO(data), "winner.jpg", actions.AssetOptions()).asset
    before = media_files()

    stream = io.BytesIO(data)
    loser = uploads._store(
        alice, stream, "loser.jpg", winner.sha256, len(data), imaging.inspect_image(stream), actions.AssetOptions()
    )

    assert loser.status == "duplicate" and loser.asset == winner
    assert Asset.objects.count() == 1
    assert media_files() == before
    assert default_storage.exists(winner.blob.name)
