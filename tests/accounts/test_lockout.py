"""Failed passwords are limited at every door: the portal sign-in, the admin sign-in and the API token
endpoint. Per account and client address (10 by default), and per address alone (a higher limit)."""

from __future__ import annotations

import pytest
from axes.models import AccessAttempt
from django.core.management import call_command
from django.test import Client

pytestmark = pytest.mark.django_db

LOCKED = "Too many failed sign-in attempts"


class Door:
    def __init__(self, name: str, url: str, ok: int, refused: int, extra: dict | None = None, as_json=False):
        self.name, self.url, self.ok, self.refused, self.extra = name, url, ok, refused, extra or {}
        self.as_json = as_json

    def attempt(self, client: Client, username: str, password: str, **headers):
        data = {"username": username, "password": password, **self.extra}
        if self.as_json:
            return client.post(self.url, data, content_type="application/json", **headers)
        return client.post(self.url, data, **headers)

    def __repr__(self) -> str:
        return self.name


DOORS = [
    Door("portal", "/accounts/login/", ok=302, refused=200),
    Door("admin", "/admin/login/", ok=302, refused=200, extra={"next": "/admin/"}),
    Door("api-token", "/api/v1/auth/token/", ok=200, refused=400),
    Door("api-token-json", "/api/v1/auth/token/", ok=200, refused=400, as_json=True),
]


def assert_locked_out(response, door: Door) -> None:
    assert response.status_code == 429, (door, response.status_code)
    if door.url.startswith("/api/"):
        assert response["Content-Type"] == "application/json"
        assert response.json()["detail"].startswith(LOCKED) and "token" not in response.json()
    else:
        assert response["Content-Type"].startswith("text/html")
        assert LOCKED in response.content.decode()
        assert "sessionid" not in response.cookies  # not signed in
    assert response["Retry-After"] == "900"


@pytest.mark.parametrize("door", DOORS, ids=repr)
def test_ten_wrong_passwords_lock_the_door_even_for_the_right_one(door, alice):
    client = Client()
    answers = [door.attempt(client, "alice", f"guess-{i}").status_code for i in range(10)]
    assert answers == [door.refused] * 9 + [429]  # the tenth failure is answered with the lock-out

    assert_locked_out(door.attempt(client, "alice", "alice-pw"), door)
    assert AccessAttempt.objects.get(username="alice").failures_since_start == 10


@pytest.mark.parametrize("door", DOORS, ids=repr)
def test_the_lock_is_per_account_and_address(door, alice, bob):
    for i in range(10):
        door.attempt(Client(), "alice", f"guess-{i}")
    assert_locked_out(door.attempt(Client(), "alice", "alice-pw"), door)

    # Another account from the same address, and the same account from another address, still get in.
    assert door.attempt(Client(), "bob", "bob-pw").status_code == door.ok
    assert door.attempt(Client(REMOTE_ADDR="10.1.2.3"), "alice", "alice-pw").status_code == door.ok


def test_every_door_counts_towards_the_same_limit(alice):
    client = Client()
    for door in DOORS[:3]:  # 9 failures, 3 at each door
        for i in range(3):
            assert door.attempt(client, "alice", f"guess-{door.name}-{i}").status_code == door.refused
    assert_locked_out(DOORS[2].attempt(client, "alice", "guess-last"), DOORS[2])
    assert_locked_out(DOORS[0].attempt(client, "alice", "alice-pw"), DOORS[0])


def test_many_accounts_tried_from_one_address_lock_the_address(alice, bob, charlie, settings):
    settings.LOGIN_ADDRESS_FAILURE_LIMIT = 12
    door = DOORS[0]
    for username in ("nobody", "root", "administrator", "bob"):
        for i in range(3):  # below the per-account limit for each of them
            door.attempt(Client(), username, f"guess-{i}")
    # Twelve failures from 127.0.0.1: every account is locked there, including ones never tried...
    assert_locked_out(door.attempt(Client(), "charlie", "charlie-pw"), door)
    assert_locked_out(DOORS[2].attempt(Client(), "alice", "alice-pw"), DOORS[2])
    # ...and nowhere else.
    assert door.attempt(Client(REMOTE_ADDR="10.1.2.3"), "charlie", "charlie-pw").status_code == door.ok


def test_success_clears_the_accounts_failures_but_not_the_addresss(alice, bob, settings):
    settings.LOGIN_ADDRESS_FAILURE_LIMIT = 15
    door = DOORS[0]
    for i in range(9):
        door.attempt(Client(), "alice", f"guess-{i}")
    assert door.attempt(Client(), "alice", "alice-pw").status_code == door.ok
    for i in range(9):
        assert door.attempt(Client(), "alice", f"again-{i}").status_code == door.refused  # counting from 0 again
    assert door.attempt(Client(), "alice", "alice-pw").status_code == door.ok
    # Bob's failures from this address are not wiped by alice's sign-in (an attacker with an account of their
    # own cannot reset the address's count that way).
    for i in range(8):
        door.attempt(Client(), "bob", f"guess-{i}")
    assert door.attempt(Client(), "alice", "alice-pw").status_code == door.ok
    assert AccessAttempt.objects.get(username="bob").failures_since_start == 8
    for i in range(7):
        door.attempt(Client(), "mallory", f"guess-{i}")  # 8 + 7 = 15 from this address
    assert_locked_out(door.attempt(Client(), "alice", "alice-pw"), door)


def test_axes_reset_lifts_the_lock_out(alice):
    for door in DOORS:
        for i in range(10):
            door.attempt(Client(), "alice", f"guess-{i}")
        assert_locked_out(door.attempt(Client(), "alice", "alice-pw"), door)

        call_command("axes_reset", verbosity=0)

        assert not AccessAttempt.objects.exists()
        assert door.attempt(Client(), "alice", "alice-pw").status_code == door.ok


def test_an_admin_sees_and_lifts_lock_outs_in_the_admin(alice, admin_user):
    for i in range(10):
        DOORS[0].attempt(Client(), "alice", f"guess-{i}")
    attempt = AccessAttempt.objects.get(username="alice")
    admin = Client()
    admin.force_login(admin_user)
    listing = admin.get("/admin/axes/accessattempt/")
    assert listing.status_code == 200 and "alice" in listing.content.decode()

    response = admin.post(f"/admin/axes/accessattempt/{attempt.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert DOORS[0].attempt(Client(), "alice", "alice-pw").status_code == 302


def test_x_forwarded_for_counts_only_behind_a_trusted_proxy(alice, settings):
    door = DOORS[0]
    # Not trusted (the default): a client writing its own X-Forwarded-For changes nothing.
    for i in range(10):
        door.attempt(Client(), "alice", f"guess-{i}", HTTP_X_FORWARDED_FOR=f"198.51.100.{i}")
    assert_locked_out(door.attempt(Client(), "alice", "alice-pw", HTTP_X_FORWARDED_FOR="198.51.100.99"), door)
    call_command("axes_reset", verbosity=0)

    # Trusted: the address the proxy appended (the right-most entry) is the client's; what the client wrote to
    # the left of it is not.
    settings.TRUST_PROXY_HEADERS = True
    for i in range(10):
        door.attempt(Client(), "alice", f"guess-{i}", HTTP_X_FORWARDED_FOR=f"10.9.9.{i}, 203.0.113.7")
    assert_locked_out(door.attempt(Client(), "alice", "alice-pw", HTTP_X_FORWARDED_FOR="203.0.113.7"), door)
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"203.0.113.7"}
    other = door.attempt(Client(), "alice", "alice-pw", HTTP_X_FORWARDED_FOR="203.0.113.8")
    assert other.status_code == door.ok
    # Garbage where an address should be: the proxy's own address counts, never a database error.
    assert door.attempt(Client(), "alice", "nope", HTTP_X_FORWARDED_FOR="not-an-ip").status_code == door.refused
    assert AccessAttempt.objects.filter(ip_address="127.0.0.1").exists()
