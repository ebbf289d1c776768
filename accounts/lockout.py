"""Sign-in attempt limits (django-axes): who is locked out, for how long, and what they are told.

Every door that checks a password goes through ``django.contrib.auth.authenticate`` with the request:
the portal sign-in, the admin sign-in and the API token endpoint (``accounts.tokens``). Failures are
counted in the database (``axes.AccessAttempt``) and limited two ways at once:

- per account and client address (``LOGIN_FAILURE_LIMIT``, default 10): someone guessing one
  account's password is stopped without locking its owner out elsewhere;
- per client address alone (``LOGIN_ADDRESS_FAILURE_LIMIT``, default 50): someone trying many
  accounts from one address is stopped too.

Axes compares every lock-out parameter with one limit, so ``AttemptLimitHandler`` states each count
in units of the per-account limit (see ``get_failures``). A successful sign-in clears that account's
failures from that address only: an attacker who also holds an account of their own must not be able
to wipe the address's count by signing in.

An administrator lifts a lock-out by deleting its row under Admin > Axes > Access attempts, or with
``manage.py axes_reset`` (everything), ``axes_reset_username NAME``, ``axes_reset_ip ADDRESS``.
"""

from __future__ import annotations

import ipaddress

from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username, get_lockout_parameters
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Sum
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render


def _valid_address(value: str | None) -> str | None:
    try:
        return str(ipaddress.ip_address((value or "").strip()))
    except ValueError:
        return None


def client_address(request) -> str | None:
    """The client's address: the socket's peer, or, behind a reverse proxy that is trusted
    (``TRUST_PROXY_HEADERS``), the address that proxy appended to X-Forwarded-For. Entries left of
    the proxies' own are whatever the client wrote there and are never used."""
    if settings.TRUST_PROXY_HEADERS:
        forwarded = [entry.strip() for entry in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        forwarded = [entry for entry in forwarded if entry]
        if len(forwarded) >= settings.TRUSTED_PROXY_COUNT:
            address = _valid_address(forwarded[-settings.TRUSTED_PROXY_COUNT])
            if address:
                return address
    return _valid_address(request.META.get("REMOTE_ADDR"))


class AttemptLimitHandler(AxesDatabaseHandler):
    """Axes' database handler with a limit of its own for the address-only count."""

    def get_failures(self, request, credentials: dict | None = None) -> int:
        limit = settings.AXES_FAILURE_LIMIT
        parameters = get_lockout_parameters(request, credentials)
        worst = 0
        for parameter, attempts in zip(parameters, self.get_user_attempts(request, credentials), strict=True):
            failures = attempts.aggregate(total=Sum("failures_since_start"))["total"] or 0
            own_limit = settings.LOGIN_ADDRESS_FAILURE_LIMIT if parameter == "ip_address" else limit
            # floor(failures * limit / own_limit) reaches `limit` exactly when failures reach own_limit.
            worst = max(worst, failures * limit // own_limit)
        return worst

    def reset_user_attempts(self, request, credentials: dict | None = None) -> int:
        username = get_client_username(request, credentials)
        count, _ = AccessAttempt.objects.filter(username=username, ip_address=request.axes_ip_address).delete()
        return count


def lockout_message() -> str:
    minutes = settings.LOGIN_COOLOFF_MINUTES
    locked = "Too many failed sign-in attempts from this address: signing in is locked"
    if not minutes:
        return f"{locked} until an administrator lifts the lock-out."
    return f"{locked}. Try again in {minutes} minute{'s' if minutes != 1 else ''}, or ask an administrator to lift " \
           "the lock-out."


def lockout_response(request, original_response=None, credentials=None) -> HttpResponse:
    """AXES_LOCKOUT_CALLABLE: 429, JSON on the API, a page of its own on the portal and admin."""
    message = lockout_message()
    if request.path.startswith("/api/"):
        response = JsonResponse({"detail": message, "locked_out": True}, status=429)
    else:
        response = render(request, "registration/locked_out.html", {"message": message}, status=429)
    if settings.LOGIN_COOLOFF_MINUTES:
        response["Retry-After"] = str(settings.LOGIN_COOLOFF_MINUTES * 60)
    return response
