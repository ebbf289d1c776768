"""/upload/ asked for JSON, as the upload page's script asks it: one request per file, each answer
naming the file's outcome (asset id and processing status, the original of a duplicate, the reason of
a rejection), and form errors apart from file outcomes."""

import io
import zipfile

import pytest

from assets.models import Asset, Visibility
from tests.conftest import make_jpeg, upload_bytes

pytestmark = pytest.mark.django_db

JSON = {"HTTP_ACCEPT": "application/json"}


def post_one(client, data: bytes, name: str, **fields):
    return client.post("/upload/", {"files": [upload_bytes(data, name)], "visibility": "private", **fields}, **JSON)


def test_each_file_on_its_own_request_answers_its_outcome(client_for, alice, team):
    client = client_for(alice)
    created = post_one(client, make_jpeg((1, 2, 3)), "one.jpg", tags="lake, kayak", team=team.pk,
                       visibility="team")
    assert created.status_code == 200 and created["Content-Type"] == "application/json"
    body = created.json()
    asset = Asset.objects.get()
    assert body == {
        "results": [{
            "filename": "one.jpg",
            "status": "created",
            "id": asset.pk,
            "reason": "",
            "asset": {
                "id": asset.pk, "title": "one", "status": "pending", "status_label": "Pending", "error": "",
                "url": f"/assets/{asset.pk}/", "thumb": None,
            },
        }],
        "title_ignored": False,
    }
    assert (asset.tags, asset.team, asset.visibility) == (["lake", "kayak"], team, Visibility.TEAM)

    (duplicate,) = post_one(client, make_jpeg((1, 2, 3)), "copy.jpg").json()["results"]
    assert duplicate["status"] == "duplicate" and duplicate["filename"] == "copy.jpg"
    assert duplicate["id"] == asset.pk  # the original, with what a link to it needs
    assert (duplicate["asset"]["url"], duplicate["asset"]["title"]) == (f"/assets/{asset.pk}/", "one")
    assert duplicate["reason"] == "you already uploaded this file"

    (rejected,) = post_one(client, b"plain text, not a photo", "fake.jpg").json()["results"]
    assert rejected["status"] == "rejected" and rejected["filename"] == "fake.jpg"
    assert rejected["id"] is None and "asset" not in rejected
    assert "unsupported file type" in rejected["reason"]

    (empty,) = post_one(client, b"", "empty.jpg").json()["results"]
    assert (empty["status"], empty["reason"]) == ("rejected", "file is empty")
    assert Asset.objects.count() == 1


def test_single_file_request_keeps_its_title(client_for, alice):
    """The script leaves the title out when several files were chosen; a lone file keeps it."""
    body = post_one(client_for(alice), make_jpeg((4, 5, 6)), "IMG_1.jpg", title="Red kayak").json()
    assert body["title_ignored"] is False
    assert body["results"][0]["asset"]["title"] == "Red kayak"


def test_archive_answers_one_result_per_member(client_for, alice):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("a.jpg", make_jpeg((10, 10, 10)))
        archive.writestr("b.txt", b"not a photo")
    body = post_one(client_for(alice), buffer.getvalue(), "shoot.zip", title="Only one").json()
    assert body["title_ignored"] is True
    assert [(row["filename"], row["status"]) for row in body["results"]] == [
        ("shoot.zip/a.jpg", "created"), ("shoot.zip/b.txt", "rejected"),
    ]


def test_form_errors_are_apart_from_file_outcomes(client_for, alice, bob, team):
    no_team = post_one(client_for(alice), make_jpeg(), "a.jpg", visibility="team")
    assert no_team.status_code == 400
    assert no_team.json() == {"errors": {"team": ["Choose a team for team visibility."]}}

    # bob is a viewer of the team: the form does not offer it.
    not_editor = post_one(client_for(bob), make_jpeg(), "a.jpg", team=team.pk, visibility="team")
    assert not_editor.status_code == 400 and set(not_editor.json()["errors"]) == {"team"}

    no_file = client_for(alice).post("/upload/", {"visibility": "private"}, **JSON)
    assert no_file.json() == {"errors": {"files": ["Choose at least one file to upload."]}}
    assert not Asset.objects.exists()


def test_check_options_refusal_is_a_form_error(client_for, alice, team, monkeypatch):
    from assets.models import Membership, Role, Team

    monkeypatch.setattr("assets.portal.forms.editor_teams_of", lambda user: Team.objects.all())
    Membership.objects.filter(user=alice).update(role=Role.VIEWER)
    response = post_one(client_for(alice), make_jpeg(), "a.jpg", team=team.pk, visibility="team")
    assert response.status_code == 400
    assert response.json() == {"errors": {"__all__": ["you are not an editor or manager of that team"]}}


def test_signed_out_script_is_sent_to_the_login_page(client):
    response = client.post("/upload/", {"files": [upload_bytes(make_jpeg(), "a.jpg")]}, **JSON)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
