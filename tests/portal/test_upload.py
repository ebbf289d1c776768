"""The upload page: several files at once, per-file results, duplicates, option checks."""

import io
import re
import zipfile

import pytest

from assets.models import Asset, Visibility
from assets.portal.forms import ACCEPTED_FILES
from tests.conftest import make_jpeg, upload_bytes

pytestmark = pytest.mark.django_db

RED = (200, 30, 30)
GREEN = (30, 160, 60)


def test_upload_form_takes_several_files_and_offers_my_editor_teams(client_for, alice, charlie):
    response = client_for(alice).get("/upload/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'type="file" name="files"' in html
    assert "multiple" in re.search(r'<input type="file"[^>]*>', html).group(0)
    assert f'accept="{ACCEPTED_FILES}"' in html and "video/*" in ACCEPTED_FILES and ".pdf" in ACCEPTED_FILES
    assert 'enctype="multipart/form-data"' in html
    assert ">Studio</option>" in html
    assert "Newsroom" not in html  # charlie's team


def test_viewer_is_offered_no_team(client_for, bob):
    html = client_for(bob).get("/upload/").content.decode()
    assert "Studio" not in html


def test_upload_several_files_reports_each(client_for, alice):
    files = [
        upload_bytes(make_jpeg(RED), "red.jpg"),
        upload_bytes(make_jpeg(GREEN), "green.jpg"),
        upload_bytes(b"this is not an image", "notes.txt"),
    ]
    response = client_for(alice).post(
        "/upload/",
        {"files": files, "title": "ignored for many", "description": "From the shoot",
         "tags": "Kayak, lake ,kayak", "visibility": "private"},
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "2 created · 0 already uploaded · 1 rejected" in html

    assets = Asset.objects.filter(owner=alice).order_by("original_filename")
    assert [a.original_filename for a in assets] == ["green.jpg", "red.jpg"]
    for asset in assets:
        assert asset.title == asset.original_filename[:-4]  # the title is only for a single file
        assert asset.description == "From the shoot"
        assert asset.tags == ["kayak", "lake"]
        assert asset.visibility == Visibility.PRIVATE
        assert f'href="/assets/{asset.pk}/">{asset.original_filename}</a>' in html
    assert "The title was not used because several files were uploaded" in html

    rejected = re.search(r'<li class="result result--rejected">(.*?)</li>', html, flags=re.S).group(1)
    assert "notes.txt" in rejected
    assert "unsupported file type" in rejected


def test_single_file_takes_the_title_and_team(client_for, alice, team):
    response = client_for(alice).post(
        "/upload/",
        {"files": [upload_bytes(make_jpeg(), "IMG_5195.jpg")], "title": "Red kayak", "team": team.pk,
         "visibility": "team"},
    )
    assert response.status_code == 200
    asset = Asset.objects.get()
    assert (asset.title, asset.team, asset.visibility) == ("Red kayak", team, Visibility.TEAM)
    assert "The title was not used" not in response.content.decode()


def test_duplicate_upload_says_already_uploaded(client_for, alice):
    client = client_for(alice)
    data = make_jpeg(GREEN)
    client.post("/upload/", {"files": [upload_bytes(data, "first.jpg")], "visibility": "private"})
    original = Asset.objects.get()
    response = client.post("/upload/", {"files": [upload_bytes(data, "again.jpg")], "visibility": "private"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "0 created · 1 already uploaded · 0 rejected" in html
    duplicate = re.search(r'<li class="result result--duplicate">(.*?)</li>', html, flags=re.S).group(1)
    assert "again.jpg" in duplicate
    assert "already uploaded" in duplicate
    assert f'href="/assets/{original.pk}/">first</a>' in duplicate
    assert Asset.objects.count() == 1


def test_zip_archive_members_become_assets(client_for, alice):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("shoot/a.jpg", make_jpeg(RED))
        archive.writestr("shoot/b.jpg", make_jpeg(GREEN))
    response = client_for(alice).post(
        "/upload/",
        {"files": [upload_bytes(buffer.getvalue(), "shoot.zip")], "title": "Only one", "visibility": "private"},
    )
    html = response.content.decode()
    assert "2 created" in html
    assert "shoot.zip/shoot/a.jpg" in html
    assert sorted(Asset.objects.values_list("title", flat=True)) == ["a", "b"]


def test_team_visibility_needs_a_team(client_for, alice):
    response = client_for(alice).post(
        "/upload/", {"files": [upload_bytes(make_jpeg(), "a.jpg")], "visibility": "team"}
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "Choose a team for team visibility." in html
    assert 'aria-invalid="true"' in html
    assert not Asset.objects.exists()


def test_viewer_cannot_file_under_team(client_for, bob, team):
    response = client_for(bob).post(
        "/upload/", {"files": [upload_bytes(make_jpeg(), "a.jpg")], "team": team.pk, "visibility": "team"}
    )
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()
    assert not Asset.objects.exists()


def test_check_options_refusal_is_shown(client_for, alice, team, monkeypatch):
    """The form's team list and actions.check_options agree; should they not, check_options wins."""
    from assets.models import Membership, Role, Team

    monkeypatch.setattr("assets.portal.forms.editor_teams_of", lambda user: Team.objects.all())
    Membership.objects.filter(user=alice).update(role=Role.VIEWER)
    response = client_for(alice).post(
        "/upload/", {"files": [upload_bytes(make_jpeg(), "a.jpg")], "team": team.pk, "visibility": "team"}
    )
    assert response.status_code == 400
    assert "you are not an editor or manager of that team" in response.content.decode()
    assert not Asset.objects.exists()


def test_no_files_is_a_form_error(client_for, alice):
    response = client_for(alice).post("/upload/", {"visibility": "private"})
    assert response.status_code == 400
    assert "Choose at least one file to upload." in response.content.decode()

