"""The API schema and docs are for signed-in staff unless MEDIAVAULT_PUBLIC_API_DOCS opens them."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

pytestmark = pytest.mark.django_db


@pytest.fixture
def erin(db):
    return get_user_model().objects.create_user("erin", password="erin-pw", is_staff=False)


def test_anonymous_visitors_get_neither_schema_nor_docs(client_for):
    anonymous = client_for(None)
    schema = anonymous.get("/api/schema/")
    assert schema.status_code == 401 and b"openapi" not in schema.content
    docs = anonymous.get("/api/docs/")
    assert docs.status_code == 302 and docs["Location"] == "/accounts/login/?next=/api/docs/"


def test_non_staff_are_refused(erin, client_for):
    client = client_for(erin)
    assert client.get("/api/schema/").status_code == 403
    assert client.get("/api/docs/").status_code == 403


def test_staff_read_them(alice, client_for):
    client = client_for(alice)
    schema = client.get("/api/schema/")
    assert schema.status_code == 200 and b"/api/v1/auth/tokens/" in schema.content
    docs = client.get("/api/docs/")
    assert docs.status_code == 200 and b"swagger" in docs.content.lower()


def test_public_api_docs_setting_opens_them(settings, client_for):
    settings.PUBLIC_API_DOCS = True
    anonymous = client_for(None)
    assert anonymous.get("/api/schema/").status_code == 200
    assert anonymous.get("/api/docs/").status_code == 200
    assert anonymous.get("/api/v1/assets/").status_code == 401  # the API itself stays closed


def test_the_search_endpoint_documents_every_asset_filter_it_takes(alice, client_for):
    """The search applies the asset list's filters by hand, so the schema would otherwise name only
    `tag`: a client reading the docs would not know that `has_people` or `place` narrow a search."""
    schema = client_for(alice).get("/api/schema/", {"format": "json"}).json()
    search = {p["name"]: p for p in schema["paths"]["/api/v1/search/"]["get"]["parameters"]}
    listing = {p["name"] for p in schema["paths"]["/api/v1/assets/"]["get"]["parameters"]}
    assert listing - {"page"} <= set(search)
    assert "other text matches where a word starts" in search["camera"]["description"]
    assert "true or false" in search["has_people"]["description"]
