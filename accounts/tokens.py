"""API tokens: DRF's authtoken (one token per user), for staff only, expiring after TOKEN_TTL_HOURS,
revoked when the user's password changes (``accounts.signals``) or by its owner (``DELETE
/api/v1/auth/tokens/``). The token endpoint counts failed passwords like every other sign-in door
(``accounts.lockout``)."""

from __future__ import annotations

from django.contrib.auth import authenticate, user_logged_in
from django.db import IntegrityError, transaction
from drf_spectacular.utils import extend_schema
from rest_framework import parsers, serializers, status
from rest_framework.authtoken.models import Token
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.exceptions import APIException, PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.authentication import expires_at, is_expired
from accounts.lockout import lockout_message
from assets.api.parsers import JSONParser

NOT_STAFF = "Only staff accounts may use the API, so only staff accounts get a token."


class LockedOut(APIException):
    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    default_code = "locked_out"


class StaffAuthTokenSerializer(AuthTokenSerializer):
    # The user model's own limit: longer names cannot sign in, and are refused before they are counted.
    username = serializers.CharField(label="Username", write_only=True, max_length=150)

    def validate(self, attrs):
        # axes records attempts on (and reads the client address from) Django's request, not DRF's wrapper.
        request = self.context["request"]._request
        user = authenticate(request=request, username=attrs["username"], password=attrs["password"])
        if user is None:
            if getattr(request, "axes_locked_out", False):
                raise LockedOut(lockout_message())
            raise serializers.ValidationError("Unable to log in with provided credentials.", code="authorization")
        attrs["user"] = user
        return attrs


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField()
    created = serializers.DateTimeField()
    expires = serializers.DateTimeField()


def current_token(user) -> Token:
    """The user's token, a new one in place of an expired one."""
    with transaction.atomic():
        token, _ = Token.objects.select_for_update().get_or_create(user=user)
        if not is_expired(token):
            return token
        token.delete()
    try:
        return Token.objects.create(user=user)
    except IntegrityError:  # a concurrent request made it first
        return Token.objects.get(user=user)


class ObtainTokenView(ObtainAuthToken):
    """POST username and password: a token for the API (staff accounts only)."""

    serializer_class = StaffAuthTokenSerializer
    authentication_classes = ()  # the password is the credential here
    parser_classes = (parsers.FormParser, parsers.MultiPartParser, JSONParser)  # ObtainAuthToken's, JSON ours

    @extend_schema(request=StaffAuthTokenSerializer, responses={200: TokenSerializer})
    def post(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = serializer.validated_data["user"]
        if not (user.is_staff or user.is_superuser):
            raise PermissionDenied(NOT_STAFF)
        # A successful sign-in: clears this account's failed attempts from this address (axes) and
        # records the last login, as the portal's sign-in does.
        user_logged_in.send(sender=user.__class__, request=request._request, user=user)
        token = current_token(user)
        return Response({"token": token.key, "created": token.created, "expires": expires_at(token)})


class TokenInfoSerializer(serializers.Serializer):
    prefix = serializers.CharField(help_text="the first characters of the key, to tell tokens apart")
    created = serializers.DateTimeField()
    expires = serializers.DateTimeField()
    expired = serializers.BooleanField()
    current = serializers.BooleanField(help_text="this request was signed in with it")


class TokenListView(APIView):
    """The caller's own API token (DRF keeps one per user): GET lists it, DELETE revokes it."""

    @extend_schema(responses={200: TokenInfoSerializer(many=True)})
    def get(self, request):
        current = request.auth.key if isinstance(request.auth, Token) else None
        rows = [
            {"prefix": token.key[:8], "created": token.created, "expires": expires_at(token),
             "expired": is_expired(token), "current": token.key == current}
            for token in Token.objects.filter(user=request.user)
        ]
        return Response(TokenInfoSerializer(rows, many=True).data)

    @extend_schema(responses={204: None})
    def delete(self, request):
        Token.objects.filter(user=request.user).delete()
        return Response(status=status.HTTP_204_NO_CONTENT)
