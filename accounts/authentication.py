"""Token authentication with an expiry. Kept apart from the views: DRF imports authentication classes
while it is still importing its own views (a views import here would be circular)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from django.conf import settings
from django.utils import timezone
from rest_framework.authentication import TokenAuthentication
from rest_framework.exceptions import AuthenticationFailed

if TYPE_CHECKING:  # the model is imported lazily, as DRF's TokenAuthentication does
    from rest_framework.authtoken.models import Token


def expires_at(token: Token) -> dt.datetime:
    return token.created + dt.timedelta(hours=settings.TOKEN_TTL_HOURS)


def is_expired(token: Token) -> bool:
    return expires_at(token) <= timezone.now()


class ExpiringTokenAuthentication(TokenAuthentication):
    """``Authorization: Token <key>``; a token older than TOKEN_TTL_HOURS no longer signs anyone in.
    First in DEFAULT_AUTHENTICATION_CLASSES, so a refused request answers 401 with
    ``WWW-Authenticate: Token`` rather than 403."""

    def authenticate_credentials(self, key):
        if "\x00" in key:
            # No key holds one, and PostgreSQL refuses to compare text with it (a 500 instead of a 401).
            raise AuthenticationFailed("Invalid token.")
        user, token = super().authenticate_credentials(key)
        if is_expired(token):
            raise AuthenticationFailed("Token has expired: obtain a new one with POST /api/v1/auth/token/.")
        return user, token
