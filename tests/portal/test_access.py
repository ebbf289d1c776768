"""Who gets into the portal: anonymous people are sent to sign in, non-staff get a 403 page."""

import pytest
from django.contrib.auth import get_user_model

from assets.models import Visibility
from tests.portal.conftest import make_asset

pytestmark = pytest.mark.django_db


@pytest.fixture
def dave(db):
    """Signed in, active, but not staff."""
    return get_user_model().objects.create_user(username="dave", password="dave-pw", is_staff=False)


@pytest.mark.parametrize("path", ["/", "/upload/", "/assets/1/", "/assets/1/delete/"])
def test_anonymous_is_sent_to_login(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next={path}"


def test_a_long_search_link_comes_back_after_login_at_its_own_length(client, alice):
    """The login URL holds the page to come back to once more encoded: a Chinese search link (9 bytes
    a character) must not come back at 15 a character, past the web server's request line limit,
    and what is reserved in it ("&" inside the query) must keep its meaning."""
    from urllib.parse import quote, urlencode

    query = "东京塔的夜景" * 100 + " a&b=c 100%"
    link = "/search/?" + urlencode({"q": query, "mode": "keyword"})
    response = client.get(link)
    assert response.status_code == 302
    location = response["Location"]
    assert location.startswith("/accounts/login/?next=")
    assert len(location) < len(link) + 64, (len(location), len(link))
    signed_in = client.post(location, {"username": "alice", "password": "alice-pw"})
    assert signed_in.status_code == 302
    back = signed_in["Location"]
    assert back.startswith("/search/?") and len(back) < len(link) + 64
    page = client.get(back)
    assert page.status_code == 200
    assert page.context["params"].query == query
    assert page.context["params"].mode == "keyword"
    assert quote("东") in back  # sent back encoded, as a Location header must be


def test_anonymous_post_changes_nothing(client, alice):
    asset = make_asset(alice, title="Kept")
    response = client.post(f"/assets/{asset.pk}/edit/", {"title": "Changed", "visibility": "private"})
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    asset.refresh_from_db()
    assert asset.title == "Kept"


def test_login_page_has_labelled_fields(client):
    response = client.get("/accounts/login/?next=/upload/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Sign in to MediaVault" in html
    assert '<label for="id_username">Username</label>' in html
    assert '<label for="id_password">Password</label>' in html
    assert 'name="next" value="/upload/"' in html
    assert "csrfmiddlewaretoken" in html


def test_login_then_library(client, alice):
    response = client.post("/accounts/login/", {"username": "alice", "password": "alice-pw"})
    assert response.status_code == 302
    assert response["Location"] == "/"
    library = client.get("/")
    assert library.status_code == 200
    assert library.templates[0].name == "portal/library.html"


def test_wrong_password_shows_error(client, alice):
    response = client.post("/accounts/login/", {"username": "alice", "password": "nope"})
    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize("path", ["/", "/upload/", "ASSET"])
def test_non_staff_user_gets_403_page(client_for, dave, alice, path):
    asset = make_asset(alice, visibility=Visibility.ORGANISATION)
    path = f"/assets/{asset.pk}/" if path == "ASSET" else path
    response = client_for(dave).get(path)
    assert response.status_code == 403
    html = response.content.decode()
    assert "MediaVault is for staff accounts" in html
    assert 'action="/accounts/logout/"' in html  # they can still sign out
    assert 'href="/upload/"' not in html  # and see no portal navigation


def test_non_staff_user_cannot_upload(client_for, dave):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from assets.models import Asset
    from tests.conftest import make_jpeg

    response = client_for(dave).post("/upload/", {"files": [SimpleUploadedFile("a.jpg", make_jpeg())]})
    assert response.status_code == 403
    assert not Asset.objects.exists()


def test_layout_has_nav_user_and_post_logout(client_for, alice):
    html = client_for(alice).get("/").content.decode()
    assert 'href="/" aria-current="page">Library</a>' in html
    assert 'href="/upload/">Upload</a>' in html
    assert "alice" in html
    assert '<form method="post" action="/accounts/logout/">' in html


def test_logout_is_a_post(client_for, alice):
    client = client_for(alice)
    response = client.post("/accounts/logout/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/"
    assert client.get("/").status_code == 302


def test_static_files_are_local(client_for, alice):
    html = client_for(alice).get("/upload/").content.decode()
    assert 'href="/static/portal/portal.css"' in html
    assert 'src="/static/portal/upload.js"' in html
    assert "https://" not in html and "http://" not in html
