"""Token authentication with an expiry. Kept apart from the views: DRF imports authentication classes
while it is still importing its own views (a views import here would be circular)."""

from __future__ import annotations

import datetime as dt
from functools import cache
from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework.authentication import TokenAuthentication
from rest_framework.exceptions import AuthenticationFailed

from mediavault.rows import plain_columns

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
        user, token = self._token_and_user(key)
        if not user.is_active:
            raise AuthenticationFailed(_("User inactive or deleted."))
        if is_expired(token):
            raise AuthenticationFailed("Token has expired: obtain a new one with POST /api/v1/auth/token/.")
        return user, token

    def _token_and_user(self, key):
        """DRF's ``Token.objects.select_related("user").get(key=key)`` as one fixed statement: it runs
        on every API request, and compiling that queryset each time cost more than the query."""
        token_model, user_model = self.get_model(), get_user_model()
        sql, token_names, user_names = _lookup(token_model, user_model)
        with connection.cursor() as cursor:
            cursor.execute(sql, [key])
            row = cursor.fetchone()
        if row is None:
            raise AuthenticationFailed(_("Invalid token."))
        token = token_model.from_db(connection.alias, token_names, row[: len(token_names)])
        user = user_model.from_db(connection.alias, user_names, row[len(token_names) :])
        token_model._meta.get_field("user").set_cached_value(token, user)
        return user, token


@cache
def _lookup(token_model, user_model) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
    quote = connection.ops.quote_name
    token_columns, token_names = plain_columns(token_model, alias="t")
    user_columns, user_names = plain_columns(user_model, alias="u")
    user_key = token_model._meta.get_field("user").column
    sql = (f"SELECT {token_columns}, {user_columns} FROM {quote(token_model._meta.db_table)} t "
           f"JOIN {quote(user_model._meta.db_table)} u ON u.{quote(user_model._meta.pk.column)} = t.{quote(user_key)} "
           f"WHERE t.{quote(token_model._meta.get_field('key').column)} = %s")
    return sql, token_names, user_names
