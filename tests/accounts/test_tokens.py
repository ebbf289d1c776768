"""API tokens: 401 (with WWW-Authenticate) for a bad or expired one, staff only, listed and revoked by their
owner, and revoked by any password change."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.management.commands import changepassword
from django.core.management import call_command
from django.test import Client
from rest_framework.authtoken.models import Token

pytestmark = pytest.mark.django_db


def obtain(username: str, password: str):
    return Client().post("/api/v1/auth/token/", {"username": username, "password": password})


def get_assets(key: str):
    return Client().get("/api/v1/assets/", HTTP_AUTHORIZATION=f"Token {key}")


@pytest.fixture
def erin(db):
    """Active, not staff."""
    return get_user_model().objects.create_user("erin", password="erin-pw", is_staff=False)


@pytest.mark.parametrize("header", ["Token not-a-token", "Token ", "Token a b", "Bearer xyz", None])
def test_missing_or_invalid_credentials_answer_401_with_www_authenticate(header, alice):
    headers = {"HTTP_AUTHORIZATION": header} if header is not None else {}
    response = Client().get("/api/v1/assets/", **headers)
    assert response.status_code == 401, response.content
    assert response["WWW-Authenticate"] == "Token"
    assert response.json()["detail"]


@pytest.mark.parametrize("path", ["/api/v1/assets/", "/api/v1/auth/tokens/", "/api/schema/?format=json"])
def test_a_token_with_a_null_character_answers_401_not_500(path, alice):
    """PostgreSQL cannot compare text holding a NUL: the key is refused before it is looked up."""
    key = Token.objects.create(user=alice).key
    response = Client().get(path, HTTP_AUTHORIZATION=f"Token {key[:10]}\x00{key[10:]}")
    assert response.status_code == 401, response.content
    assert response["WWW-Authenticate"] == "Token"
    assert response.json() == {"detail": "Invalid token."}
    assert get_assets(key).status_code == 200  # the real key still works


def test_a_token_signs_in_its_user_in_one_statement_and_an_inactive_one_nobody(alice):
    """The lookup is one fixed statement (accounts.authentication): the user and token it builds are
    the ORM's own, and a deactivated account's token is refused as DRF refuses it."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from rest_framework.test import APIRequestFactory

    from accounts.authentication import ExpiringTokenAuthentication

    key = Token.objects.create(user=alice).key
    request = APIRequestFactory().get("/", HTTP_AUTHORIZATION=f"Token {key}")
    with CaptureQueriesContext(connection) as queries:
        user, token = ExpiringTokenAuthentication().authenticate(request)
    assert len(queries) == 1
    assert (user.pk, user.username, user.is_staff, user.password) == (alice.pk, "alice", True, alice.password)
    assert token.key == key and token.user is user and token.created == Token.objects.get(key=key).created
    alice.is_active = False
    alice.save(update_fields=["is_active"])
    response = get_assets(key)
    assert response.status_code == 401 and response.json() == {"detail": "User inactive or deleted."}


def test_a_signed_in_non_staff_user_still_gets_403(erin):
    client = Client()
    client.force_login(erin)
    assert client.get("/api/v1/assets/").status_code == 403


def test_the_token_endpoint_answers_with_the_expiry(alice, settings):
    response = obtain("alice", "alice-pw")
    assert response.status_code == 200
    body = response.json()
    token = Token.objects.get(user=alice)
    assert body["token"] == token.key
    expires = dt.datetime.fromisoformat(body["expires"].replace("Z", "+00:00"))
    assert expires == token.created + dt.timedelta(hours=settings.TOKEN_TTL_HOURS)
    assert settings.TOKEN_TTL_HOURS == 720
    assert get_assets(token.key).status_code == 200
    assert obtain("alice", "alice-pw").json()["token"] == token.key  # the same token while it is valid


def test_an_expired_token_answers_401_and_a_new_one_can_be_had(alice, settings):
    key = obtain("alice", "alice-pw").json()["token"]
    Token.objects.filter(key=key).update(created=Token.objects.get(key=key).created - dt.timedelta(hours=721))

    response = get_assets(key)
    assert response.status_code == 401
    assert "expired" in response.json()["detail"] and response["WWW-Authenticate"] == "Token"

    fresh = obtain("alice", "alice-pw").json()["token"]
    assert fresh != key and get_assets(fresh).status_code == 200
    assert not Token.objects.filter(key=key).exists()


def test_the_lifetime_is_a_setting(alice, settings):
    key = obtain("alice", "alice-pw").json()["token"]
    Token.objects.filter(key=key).update(created=Token.objects.get(key=key).created - dt.timedelta(hours=2))
    assert get_assets(key).status_code == 200
    settings.TOKEN_TTL_HOURS = 1
    assert get_assets(key).status_code == 401


def test_only_staff_get_a_token(erin):
    response = obtain("erin", "erin-pw")
    assert response.status_code == 403
    assert "Only staff accounts" in response.json()["detail"]
    assert not Token.objects.filter(user=erin).exists()


def test_the_owner_lists_and_revokes_their_token(alice, bob):
    key = obtain("alice", "alice-pw").json()["token"]
    bob_key = obtain("bob", "bob-pw").json()["token"]
    auth = {"HTTP_AUTHORIZATION": f"Token {key}"}

    listing = Client().get("/api/v1/auth/tokens/", **auth)
    assert listing.status_code == 200
    [row] = listing.json()  # only her own token
    token = Token.objects.get(key=key)
    assert row["prefix"] == key[:8] and key not in listing.content.decode()  # the key itself is never shown
    assert row["current"] is True and row["expired"] is False
    assert dt.datetime.fromisoformat(row["expires"].replace("Z", "+00:00")) == token.created + dt.timedelta(days=30)

    # From a session (the portal's cookie), the same token is listed, not as the one in use.
    session = Client()
    session.force_login(alice)
    assert [r["current"] for r in session.get("/api/v1/auth/tokens/").json()] == [False]

    assert Client().delete("/api/v1/auth/tokens/", **auth).status_code == 204
    assert get_assets(key).status_code == 401
    assert session.get("/api/v1/auth/tokens/").json() == []
    assert get_assets(bob_key).status_code == 200  # nobody else's


def test_changing_the_password_in_the_admin_revokes_tokens(alice, bob, admin_user):
    key, bob_key = obtain("alice", "alice-pw").json()["token"], obtain("bob", "bob-pw").json()["token"]
    admin = Client()
    admin.force_login(admin_user)
    response = admin.post(f"/admin/auth/user/{alice.pk}/password/",
                          {"password1": "a-new-long-passphrase", "password2": "a-new-long-passphrase"})
    assert response.status_code == 302, response.content.decode()[:2000]

    assert get_assets(key).status_code == 401
    assert not Token.objects.filter(user=alice).exists()
    assert get_assets(bob_key).status_code == 200
    assert obtain("alice", "a-new-long-passphrase").status_code == 200


def test_changepassword_command_revokes_tokens(alice, monkeypatch):
    key = obtain("alice", "alice-pw").json()["token"]
    monkeypatch.setattr(changepassword.Command, "_get_pass", lambda self, prompt="": "another-long-passphrase")
    call_command("changepassword", "alice", stdout=io.StringIO())

    assert get_assets(key).status_code == 401
    assert obtain("alice", "another-long-passphrase").status_code == 200


def test_disabling_the_password_revokes_tokens(alice):
    key = obtain("alice", "alice-pw").json()["token"]
    alice.set_unusable_password()
    alice.save()
    assert get_assets(key).status_code == 401


def test_saves_that_keep_the_password_keep_the_token(alice, admin_user):
    key = obtain("alice", "alice-pw").json()["token"]
    # Signing in again (last_login saved), editing the user, and a hash upgrade of the same password.
    assert Client().post("/accounts/login/", {"username": "alice", "password": "alice-pw"}).status_code == 302
    alice.refresh_from_db()
    alice.first_name = "Alice"
    alice.save()
    alice.set_password("alice-pw")
    alice._password = None  # what check_password does when it upgrades a hash
    alice.save(update_fields=["password"])
    assert get_assets(key).status_code == 200
