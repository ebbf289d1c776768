"""Who sees and who changes what through the API, token auth, list filters and pagination, and how files
leave the server (attachment, nosniff, safe names; never from a public URL)."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone
from django.utils.http import parse_header_parameters
from PIL import Image

from assets import actions, filenames
from assets.actions import blobs
from assets.models import Asset, BlobStore, Membership, Rendition, Role, Status, Visibility
from tests.conftest import make_jpeg
from tests.factories import fake_blob

pytestmark = pytest.mark.django_db

VISIBILITIES = ["private", "team", "organisation"]
ACTORS = ["alice", "bob", "charlie", "admin", "anonymous", "dave"]
# Who may view each kind of asset (all owned by alice, the private one filed under her team "studio").
VIEWERS = {
    "private": {"alice", "admin"},
    "team": {"alice", "bob", "admin"},
    "organisation": {"alice", "bob", "charlie", "admin"},
}
EDITORS = {"alice", "admin"}  # owner and superuser; bob only views his team's assets, charlie edits nothing of hers


def _make_asset(owner, visibility: str, team) -> Asset:
    colour = {"private": (250, 0, 0), "team": (0, 250, 0), "organisation": (0, 0, 250)}[visibility]
    options = actions.AssetOptions(
        title=f"{visibility} asset", visibility=visibility, team=None if visibility == "organisation" else team
    )
    result = actions.upload_asset(owner, io.BytesIO(make_jpeg(colour)), f"{visibility}.jpg", options)
    assert result.status in ("created", "duplicate"), result.reason
    with blobs.new_files() as written:
        blob = blobs.store_bytes(BlobStore.RENDITION, make_jpeg(colour, (32, 24)), "image/jpeg", written)
    Rendition.objects.create(asset=result.asset, spec="max256", width=64, height=48, blob=blob)
    return result.asset


@pytest.fixture
def shelf(alice, team):
    """One asset of each visibility, each with a thumbnail file."""
    return {visibility: _make_asset(alice, visibility, team) for visibility in VISIBILITIES}


@pytest.fixture
def actor(request):
    def get(name: str):
        if name == "anonymous":
            return None
        return request.getfixturevalue("admin_user" if name == "admin" else name)

    return get


def expected_codes(visibility: str, who: str) -> dict[str, object]:
    if who in ("anonymous", "dave"):
        # Refused before any asset is looked at: anonymous with 401 (token auth comes first, so the API says how
        # to authenticate: WWW-Authenticate: Token), the signed-in non-staff user with 403.
        code = 401 if who == "anonymous" else 403
        return {op: code for op in ("list", "detail", "original", "thumbnail", "patch", "delete")}
    sees = who in VIEWERS[visibility]
    if not sees:
        return {"list": False, "detail": 404, "original": 404, "thumbnail": 404, "patch": 404, "delete": 404}
    edits = who in EDITORS
    return {
        "list": True, "detail": 200, "original": 200, "thumbnail": 200,
        "patch": 200 if edits else 403, "delete": 204 if edits else 403,
    }


@pytest.mark.parametrize("who", ACTORS)
@pytest.mark.parametrize("visibility", VISIBILITIES)
def test_permission_matrix(visibility, who, shelf, actor, api_for):
    asset = shelf[visibility]
    api = api_for(actor(who))
    base = f"/api/v1/assets/{asset.pk}"

    listing = api.get("/api/v1/assets/")
    actual = {
        "list": ({r["id"] for r in listing.json()["results"]} >= {asset.pk}) if listing.status_code == 200
        else listing.status_code,
        "detail": api.get(f"{base}/").status_code,
        "original": api.get(f"{base}/original/").status_code,
        "thumbnail": api.get(f"{base}/renditions/max256/").status_code,
        "patch": api.patch(f"{base}/", {"title": "renamed"}, format="json").status_code,
        "delete": api.delete(f"{base}/").status_code,
    }

    expected = expected_codes(visibility, who)
    assert actual == expected
    # Deleting moves the asset to the trash: out of every listing, but restorable.
    asset_left = Asset.objects.alive().filter(pk=asset.pk).first()
    assert (asset_left is None) is (expected["delete"] == 204)
    assert Asset.objects.filter(pk=asset.pk).exists()
    if asset_left is not None:
        assert asset_left.title == ("renamed" if expected["patch"] == 200 else f"{visibility} asset")


def test_list_shows_each_user_exactly_what_they_may_see(shelf, alice, bob, charlie, admin_user, api_for):
    def listed(user):
        return {r["title"] for r in api_for(user).get("/api/v1/assets/").json()["results"]}

    assert listed(alice) == listed(admin_user) == {"private asset", "team asset", "organisation asset"}
    assert listed(bob) == {"team asset", "organisation asset"}
    assert listed(charlie) == {"organisation asset"}


def test_team_editor_who_is_not_the_owner(shelf, team, api_for):
    erin = get_user_model().objects.create_user("erin", password="erin-pw", is_staff=True)
    Membership.objects.create(team=team, user=erin, role=Role.EDITOR)
    api = api_for(erin)
    assert api.patch(f"/api/v1/assets/{shelf['team'].pk}/", {"title": "t"}, format="json").status_code == 200
    # Filed under her team but private: alice's alone, not even visible.
    assert api.patch(f"/api/v1/assets/{shelf['private'].pk}/", {"title": "t"}, format="json").status_code == 404
    assert api.patch(f"/api/v1/assets/{shelf['organisation'].pk}/", {"title": "t"}, format="json").status_code == 403


def test_inactive_staff_user_sees_nothing(shelf, api_for):
    former = get_user_model().objects.create_user("former", password="x", is_staff=True, is_active=False)
    assert api_for(former).get("/api/v1/assets/").status_code == 403


def test_owner_cannot_move_an_asset_to_a_team_she_does_not_edit(shelf, other_team, api_for, alice):
    response = api_for(alice).patch(
        f"/api/v1/assets/{shelf['team'].pk}/", {"team": other_team.slug}, format="json"
    )
    assert response.status_code == 400
    assert Asset.objects.get(pk=shelf["team"].pk).team.slug == "studio"


# --- Token authentication ----------------------------------------------------------------------


def test_token_auth(shelf, alice, dave):
    client = Client()
    response = client.post("/api/v1/auth/token/", {"username": "alice", "password": "alice-pw"})
    assert response.status_code == 200
    token = response.json()["token"]

    authorised = client.get("/api/v1/assets/", HTTP_AUTHORIZATION=f"Token {token}")
    assert authorised.status_code == 200
    assert {r["id"] for r in authorised.json()["results"]} == {a.pk for a in shelf.values()}

    assert client.get("/api/v1/assets/", HTTP_AUTHORIZATION="Token not-a-token").status_code == 401
    assert client.get("/api/v1/assets/").status_code == 401
    assert client.post("/api/v1/auth/token/", {"username": "alice", "password": "wrong"}).status_code == 400

    # Only staff get a token (tests/accounts/test_tokens.py has the rest).
    refused = client.post("/api/v1/auth/token/", {"username": "dave", "password": "dave-pw"})
    assert refused.status_code == 403 and "token" not in refused.json()


# --- Filters and pagination ----------------------------------------------------------------------


def _ids(api, query: str) -> set[int]:
    response = api.get(f"/api/v1/assets/?{query}")
    assert response.status_code == 200, response.content
    return {r["id"] for r in response.json()["results"]}


def test_list_filters(shelf, alice, charlie, api_for):
    private, team_asset, org = shelf["private"], shelf["team"], shelf["organisation"]
    theirs = actions.upload_asset(
        charlie, io.BytesIO(make_jpeg((5, 5, 5))), "charlie.jpg",
        actions.AssetOptions(visibility=Visibility.ORGANISATION, tags=["kayak", "lake"]),
    ).asset
    Asset.objects.filter(pk=team_asset.pk).update(tags=["kayak"], status=Status.READY)
    now = timezone.now()
    Asset.objects.filter(pk=private.pk).update(created_at=now - dt.timedelta(days=10))
    Asset.objects.filter(pk=org.pk).update(taken_at=dt.datetime(2008, 5, 30, 15, 56, tzinfo=dt.UTC))
    Asset.objects.filter(pk=theirs.pk).update(taken_at=dt.datetime(2021, 1, 1, tzinfo=dt.UTC))
    api = api_for(alice)

    assert _ids(api, "owner=alice") == {private.pk, team_asset.pk, org.pk}
    assert _ids(api, "owner=charlie") == {theirs.pk}
    assert _ids(api, "team=studio") == {private.pk, team_asset.pk}
    assert _ids(api, "tag=kayak") == {team_asset.pk, theirs.pk}
    assert _ids(api, "tag=KAYAK") == {team_asset.pk, theirs.pk}
    assert _ids(api, "tag=lake&owner=alice") == set()
    assert _ids(api, "status=ready") == {team_asset.pk}
    assert _ids(api, "status=pending") == {private.pk, org.pk, theirs.pk}
    week_ago = (now - dt.timedelta(days=7)).isoformat().replace("+00:00", "Z")
    assert _ids(api, f"created_before={week_ago}") == {private.pk}
    assert _ids(api, f"created_after={week_ago}") == {team_asset.pk, org.pk, theirs.pk}
    assert _ids(api, "taken_after=2010-01-01T00:00:00Z") == {theirs.pk}
    assert _ids(api, "taken_before=2010-01-01T00:00:00Z") == {org.pk}
    assert _ids(api, "taken_after=2008-05-30T00:00:00Z&taken_before=2008-05-31T00:00:00Z") == {org.pk}
    assert api.get("/api/v1/assets/?status=bogus").status_code == 400

    # Filters only ever narrow what the user may see.
    assert _ids(api_for(charlie), "owner=alice") == {org.pk}
    assert _ids(api_for(charlie), "team=studio") == set()


def test_pagination(alice, api_for):
    blob = fake_blob()
    Asset.objects.bulk_create(
        Asset(owner=alice, blob=blob, original_filename=f"{i}.jpg", sha256=f"{i:064x}", mime_type="image/jpeg",
              byte_size=1)
        for i in range(55)
    )
    api = api_for(alice)
    first = api.get("/api/v1/assets/").json()
    assert first["count"] == 55 and len(first["results"]) == 50 and first["previous"] is None
    second = api.get(first["next"]).json()
    assert len(second["results"]) == 5 and second["next"] is None
    ids = [r["id"] for r in first["results"] + second["results"]]
    assert len(set(ids)) == 55 == len(ids)
    assert api.get("/api/v1/assets/?page=3").status_code == 404


# --- Downloads ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "original_name",
    [
        'report "final"; filename=evil.html',
        "写真 \"夏\" 'été'.jpg",
        "tab\there; name=x.jpg",
    ],
)
def test_original_download_is_an_attachment_with_a_safe_name(original_name, shelf, alice, api_for):
    asset = shelf["private"]
    Asset.objects.filter(pk=asset.pk).update(original_filename=original_name)

    response = api_for(alice).get(f"/api/v1/assets/{asset.pk}/original/")

    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response["Content-Security-Policy"]
    disposition, params = parse_header_parameters(response["Content-Disposition"])
    assert disposition == "attachment"
    # One parameter that round-trips exactly: nothing injected. The name is the stored one, except that its
    # extension is the sniffed type's (the asset is a JPEG): 'report "final"; filename=evil.html' is delivered
    # as '... evil.jpg', never under a name a browser or desktop would open as a web page.
    assert params == {"filename": filenames.download_name(original_name, "image/jpeg")}
    assert params["filename"].endswith(".jpg")
    assert "\n" not in response["Content-Disposition"] and "\r" not in response["Content-Disposition"]
    with asset.blob.open() as handle:
        assert b"".join(response.streaming_content) == handle.read()


@pytest.mark.parametrize(
    ("uploaded_as", "delivered_as"),
    [
        ("invoice.html", "invoice.jpg"),
        ("logo.svg", "logo.jpg"),
        ("setup.exe", "setup.jpg"),
        ("run.bat", "run.jpg"),
        ("invoice.html. ", "invoice.jpg"),  # Windows drops trailing dots and spaces: it would save invoice.html
        ("IMG_5195", "IMG_5195.jpg"),
        ("photo.jpeg", "photo.jpeg"),
        ("PHOTO.JPG", "PHOTO.JPG"),
        ("v1.2 final", "v1.2 final.jpg"),
    ],
)
def test_download_name_has_the_extension_of_the_sniffed_type(uploaded_as, delivered_as, alice, api_for):
    # A JPEG that is also a web page (HTML in a comment segment): accepted as the JPEG it is.
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (90, 10, 200)).save(
        buffer, format="JPEG", comment=b"<html><body><script>alert(document.cookie)</script></body></html>")
    api = api_for(alice)
    created = api.post("/api/v1/assets/", {"file": SimpleUploadedFile("x.jpg", buffer.getvalue())},
                       format="multipart")
    assert created.status_code == 201, created.content
    Asset.objects.filter(pk=created.json()["id"]).update(original_filename=uploaded_as)

    response = api.get(f"/api/v1/assets/{created.json()['id']}/original/")
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    assert parse_header_parameters(response["Content-Disposition"]) == ("attachment", {"filename": delivered_as})
    # The stored name stays what the uploader called the file: it is metadata, searchable as such.
    assert api.get(f"/api/v1/assets/{created.json()['id']}/").json()["original_filename"] == uploaded_as


def test_polyglot_uploaded_as_html_downloads_as_jpg(alice, api_for):
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (10, 200, 90)).save(buffer, format="JPEG", comment=b"<html><script>x()</script>")
    api = api_for(alice)
    created = api.post("/api/v1/assets/", {"file": SimpleUploadedFile("invoice.html", buffer.getvalue())},
                       format="multipart")
    assert created.status_code == 201 and created.json()["original_filename"] == "invoice.html"
    response = api.get(f"/api/v1/assets/{created.json()['id']}/original/")
    assert parse_header_parameters(response["Content-Disposition"]) == ("attachment", {"filename": "invoice.jpg"})


@pytest.mark.parametrize(
    ("name", "mime_type", "delivered"),
    [
        ("scan.TIF", "image/tiff", "scan.TIF"),
        ("scan.tiff", "image/tiff", "scan.tiff"),
        ("scan.jpg", "image/tiff", "scan.tif"),
        ("shot.html", "image/png", "shot.png"),
        ("anim.gif.exe", "image/gif", "anim.gif.gif"),
        ("IMG_0001.HEIC", "image/heif", "IMG_0001.HEIC"),
        ("pic.webp", "image/webp", "pic.webp"),
        ("pic", "image/webp", "pic.webp"),
        (".htaccess", "image/png", ".htaccess.png"),
    ],
)
def test_download_name_for_each_type(name, mime_type, delivered):
    assert filenames.download_name(name, mime_type) == delivered


def test_rendition_name_has_the_rendition_type_extension(shelf, alice, api_for):
    Asset.objects.filter(pk=shelf["team"].pk).update(original_filename="invoice.html")
    response = api_for(alice).get(f"/api/v1/assets/{shelf['team'].pk}/renditions/max256/")
    assert parse_header_parameters(response["Content-Disposition"]) == ("inline", {"filename": "invoice-max256.jpg"})


def test_thumbnail_is_inline_jpeg_with_nosniff(shelf, alice, api_for):
    response = api_for(alice).get(f"/api/v1/assets/{shelf['team'].pk}/renditions/max256/")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Disposition"].startswith("inline")
    assert api_for(alice).get(f"/api/v1/assets/{shelf['team'].pk}/renditions/max1024/").status_code == 404


def test_stored_files_are_served_by_no_public_url(shelf, admin_user):
    asset = shelf["organisation"]
    names = [asset.blob.name, asset.renditions.get().blob.name]
    anonymous, admin = Client(), Client()
    admin.force_login(admin_user)
    for client in (anonymous, admin):
        for name in names:
            for url in (f"/media/{name}", f"/{name}", f"/static/{name}", f"/static/../media/{name}",
                        f"/api/v1/{name}", f"/var/media/{name}"):
                response = client.get(url)
                assert response.status_code == 404, url
