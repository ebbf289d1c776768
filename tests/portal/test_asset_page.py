"""The asset page: details, EXIF and GPS, downloads; edit, reprocess and delete with permissions."""

import re

import pytest
from django.core.files.storage import default_storage

from assets import actions
from assets.models import Asset, Rendition, Status, Visibility
from assets.processing import process_asset
from tests.conftest import make_jpeg, sample, upload_bytes, upload_file
from tests.portal.conftest import make_asset

pytestmark = pytest.mark.django_db


def uploaded(owner, upload, **options) -> Asset:
    result = actions.upload_asset(owner, upload, upload.name, actions.AssetOptions(**options))
    assert result.status == "created", result.reason
    return result.asset


@pytest.fixture
def team_asset(alice, team):
    return make_asset(alice, title="Team photo", visibility=Visibility.TEAM, team=team, tags=["kayak"])


def test_processed_gps_photo_shows_exif_location_and_downloads(client_for, alice):
    asset = uploaded(alice, upload_file(sample("jpg/gps/DSCN0010.jpg")), tags=["tuscany"])
    assert process_asset(asset.pk).startswith("ready")
    asset.refresh_from_db()

    response = client_for(alice).get(f"/assets/{asset.pk}/")
    assert response.status_code == 200
    html = response.content.decode()
    exif = re.search(r'<table class="exif">(.*?)</table>', html, flags=re.S).group(1)
    assert '<th scope="row">Camera make</th><td>NIKON</td>' in exif
    assert '<th scope="row">Camera model</th><td>COOLPIX P6000</td>' in exif
    assert '<th scope="row">Exposure time</th><td>1/75 s</td>' in exif
    assert '<th scope="row">Aperture</th><td>f/5.9</td>' in exif
    assert '<th scope="row">ISO</th><td>64</td>' in exif
    assert '<th scope="row">Focal length</th><td>24 mm</td>' in exif
    assert "22 Oct 2008, 16:28:39" in exif

    location = re.search(r'id="location-heading">(.*?)</section>', html, flags=re.S).group(1)
    assert "<dd>43.467448</dd>" in location
    assert "<dd>11.885127</dd>" in location
    assert 'href="https://www.openstreetmap.org/?mlat=43.467448&amp;mlon=11.885127#map=15/43.467448/11.885127"' in (
        location
    )

    # Large preview and downloads go through the API's visibility-checked file URLs.
    assert f'<img src="/api/v1/assets/{asset.pk}/renditions/max1024/"' in html
    assert f'href="/api/v1/assets/{asset.pk}/original/" download>Original</a>' in html
    assert f'href="/api/v1/assets/{asset.pk}/renditions/max256/">max256</a>' in html
    assert f'href="/api/v1/assets/{asset.pk}/renditions/max1024/">max1024</a>' in html
    # File facts.
    assert asset.sha256 in html
    assert "DSCN0010.jpg" in html
    assert "640 × 480 px" in html
    assert "image/jpeg" in html
    assert 'href="/?tag=tuscany"' in html
    # The URLs the page links to really serve the files to this user.
    client = client_for(alice)
    assert client.get(f"/api/v1/assets/{asset.pk}/renditions/max1024/")["Content-Type"] == "image/jpeg"
    assert client.get(f"/api/v1/assets/{asset.pk}/original/").status_code == 200


def test_hidden_asset_is_404(client_for, alice, charlie):
    private = make_asset(alice, title="Secret")
    client = client_for(charlie)
    for method, path in [
        ("get", f"/assets/{private.pk}/"),
        ("get", f"/assets/{private.pk}/delete/"),
        ("post", f"/assets/{private.pk}/delete/"),
        ("post", f"/assets/{private.pk}/edit/"),
        ("post", f"/assets/{private.pk}/reprocess/"),
    ]:
        data = {"title": "Mine now", "visibility": "private"} if method == "post" else {}
        response = getattr(client, method)(path, data)
        assert response.status_code == 404, (method, path)
        assert "Secret" not in response.content.decode()
    private.refresh_from_db()
    assert private.title == "Secret"


def test_missing_asset_is_404(client_for, alice):
    response = client_for(alice).get("/assets/999999/")
    assert response.status_code == 404
    assert "Page not found" in response.content.decode()


def test_team_viewer_sees_but_cannot_change(client_for, bob, team_asset):
    client = client_for(bob)
    page = client.get(f"/assets/{team_asset.pk}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Team photo" in html
    assert "Edit details" not in html
    assert f"/assets/{team_asset.pk}/edit/" not in html
    assert f"/assets/{team_asset.pk}/delete/" not in html

    edit = client.post(f"/assets/{team_asset.pk}/edit/", {"title": "Hijacked", "visibility": "organisation"})
    assert edit.status_code == 403
    assert "You can view this asset but not change it" in edit.content.decode()
    assert client.get(f"/assets/{team_asset.pk}/delete/").status_code == 403
    assert client.post(f"/assets/{team_asset.pk}/delete/").status_code == 403
    assert client.post(f"/assets/{team_asset.pk}/reprocess/").status_code == 403

    team_asset.refresh_from_db()
    assert (team_asset.title, team_asset.visibility, team_asset.status) == ("Team photo", "team", Status.READY)


def test_owner_edits_title_tags_and_visibility(client_for, alice, team_asset, team,
                                               django_capture_on_commit_callbacks):
    client = client_for(alice)
    page = client.get(f"/assets/{team_asset.pk}/").content.decode()
    assert f'action="/assets/{team_asset.pk}/edit/"' in page
    assert 'value="kayak"' in page  # tags shown as comma-separated text

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(
            f"/assets/{team_asset.pk}/edit/",
            {"title": "Red kayak at dawn", "description": "Lake Bled", "tags": "Kayak, Dawn",
             "visibility": "organisation", "team": team.pk},
        )
    # Saved through actions.update_asset: new searchable text asks for a new text vector.
    assert len(callbacks) == 1
    assert response.status_code == 302
    assert response["Location"] == f"/assets/{team_asset.pk}/"
    team_asset.refresh_from_db()
    assert team_asset.title == "Red kayak at dawn"
    assert team_asset.description == "Lake Bled"
    assert team_asset.tags == ["kayak", "dawn"]
    assert team_asset.visibility == Visibility.ORGANISATION
    followed = client.get(response["Location"]).content.decode()
    assert "Changes saved." in followed
    assert "<h1 class=\"asset__title\">Red kayak at dawn</h1>" in followed


def test_edit_does_not_touch_fields_it_does_not_show(client_for, alice, monkeypatch):
    from assets.portal import views

    asset = make_asset(alice, title="Before", status=Status.PROCESSING, renditions=False)

    class WorkerFinishesMeanwhile(views.AssetEditForm):
        def clean(self):
            # An ingest worker writes its results after the view loaded the row, before it saves.
            Asset.objects.filter(pk=asset.pk).update(status=Status.READY, camera_make="NIKON")
            return super().clean()

    monkeypatch.setattr(views, "AssetEditForm", WorkerFinishesMeanwhile)
    response = client_for(alice).post(f"/assets/{asset.pk}/edit/", {"title": "After", "visibility": "private"})
    assert response.status_code == 302
    asset.refresh_from_db()
    assert (asset.title, asset.status, asset.camera_make) == ("After", Status.READY, "NIKON")


def test_unchanged_edit_saves_nothing(client_for, alice, django_capture_on_commit_callbacks):
    asset = make_asset(alice, title="Same", tags=["a", "b"])
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client_for(alice).post(
            f"/assets/{asset.pk}/edit/", {"title": "Same", "tags": "a, b", "visibility": "private", "description": ""},
            follow=True,
        )
    assert "Nothing to save" in response.content.decode()
    assert callbacks == []
    assert Asset.objects.get(pk=asset.pk).updated_at == asset.updated_at


def test_invalid_edit_shows_errors_and_saves_nothing(client_for, alice):
    asset = make_asset(alice, title="Unchanged")
    response = client_for(alice).post(
        f"/assets/{asset.pk}/edit/", {"title": "New", "visibility": "team", "team": ""}
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "The changes were not saved." in html
    assert "Choose a team for team visibility." in html
    assert '<h1 class="asset__title">Unchanged</h1>' in html  # the page shows the stored asset
    asset.refresh_from_db()
    assert (asset.title, asset.visibility) == ("Unchanged", Visibility.PRIVATE)


def test_owner_cannot_move_asset_into_someone_elses_team(client_for, charlie, team):
    asset = make_asset(charlie, title="Charlie's")
    response = client_for(charlie).post(
        f"/assets/{asset.pk}/edit/", {"title": "Charlie's", "visibility": "team", "team": team.pk}
    )
    assert response.status_code == 400
    asset.refresh_from_db()
    assert asset.team is None


def test_delete_asks_then_trashes_and_purging_removes_row_and_files(
    client_for, alice, django_capture_on_commit_callbacks
):
    asset = uploaded(alice, upload_bytes(make_jpeg(), "gone.jpg"))
    process_asset(asset.pk)
    files = [asset.blob.name, *Rendition.objects.filter(asset=asset).values_list("blob__name", flat=True)]
    assert len(files) == 3 and all(default_storage.exists(name) for name in files)
    client = client_for(alice)

    confirm = client.get(f"/assets/{asset.pk}/delete/")
    assert confirm.status_code == 200
    assert "Move “gone” to the trash?" in confirm.content.decode()
    assert Asset.objects.alive().filter(pk=asset.pk).exists()  # asking deletes nothing

    response = client.post(f"/assets/{asset.pk}/delete/")
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert Asset.objects.get(pk=asset.pk).in_trash
    assert all(default_storage.exists(name) for name in files)  # restorable: the files stay
    assert "Moved “gone” to the trash." in client.get("/").content.decode()
    assert client.get(f"/assets/{asset.pk}/").status_code == 404
    trash = client.get("/trash/").content.decode()
    assert 'data-testid="trash-row"' in trash and "gone" in trash

    confirm = client.post("/trash/purge/", {"asset": [asset.pk]})
    assert "Delete 1 asset for good?" in confirm.content.decode()
    assert Asset.objects.filter(pk=asset.pk).exists()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/trash/purge/", {"asset": [asset.pk], "confirm": "1"})
    assert response.status_code == 302
    assert not Asset.objects.filter(pk=asset.pk).exists()
    assert not any(default_storage.exists(name) for name in files)


def test_reprocess_resets_status_and_enqueues(client_for, alice, django_capture_on_commit_callbacks):
    asset = make_asset(alice, status=Status.FAILED, error="processing failed: boom", renditions=False)
    page = client_for(alice).get(f"/assets/{asset.pk}/").content.decode()
    assert "Processing failed." in page
    assert "processing failed: boom" in page

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client_for(alice).post(f"/assets/{asset.pk}/reprocess/")
    assert response.status_code == 302
    assert len(callbacks) == 1  # one ingest message, sent once the reset commits
    asset.refresh_from_db()
    assert (asset.status, asset.error) == (Status.PENDING, "")


def test_reprocess_is_post_only(client_for, alice):
    asset = make_asset(alice, status=Status.FAILED)
    assert client_for(alice).get(f"/assets/{asset.pk}/reprocess/").status_code == 405
    asset.refresh_from_db()
    assert asset.status == Status.FAILED


def test_pending_asset_page_polls_until_ready(client_for, alice):
    asset = make_asset(alice, status=Status.PENDING, renditions=False)
    html = client_for(alice).get(f"/assets/{asset.pk}/").content.decode()
    assert f'data-status-url="/api/v1/assets/{asset.pk}/"' in html
    assert '<noscript><meta http-equiv="refresh"' in html
    assert 'src="/static/portal/asset.js"' in html

    Asset.objects.filter(pk=asset.pk).update(status=Status.READY)
    ready = client_for(alice).get(f"/assets/{asset.pk}/").content.decode()
    assert "data-status-poll" not in ready
    assert "http-equiv" not in ready
