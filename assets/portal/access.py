"""Who may use the portal at all, and how a page finds an asset. Visibility itself is decided only by
``Asset.objects.visible_to`` / ``editable_by``."""

from __future__ import annotations

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch, QuerySet
from django.shortcuts import get_object_or_404
from django.utils.encoding import uri_to_iri

from assets.models import Asset, Rendition

STAFF_ONLY = "MediaVault is for staff accounts. Ask an administrator to give your account staff access."
VIEW_ONLY = "You can view this asset but not change it. Ask its owner or a team editor."


def is_portal_user(user) -> bool:
    return bool(user.is_authenticated and user.is_active and (user.is_staff or user.is_superuser))


def staff_required(view):
    """Anonymous people go to the login page; signed-in people without staff status get a 403 page."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(back_after_login(request))
        if not is_portal_user(request.user):
            raise PermissionDenied(STAFF_ONLY)
        return view(request, *args, **kwargs)

    return wrapped


def back_after_login(request) -> str:
    """Where the login page sends a person back to: this page, its query included. Its non-ASCII
    characters are handed over decoded (reserved ones such as %26 stay encoded), because the login
    URL encodes `next` once more: a search link in Chinese (9 bytes a character) would otherwise
    come back at 15 a character and pass the web server's 8 KB request line long before the link did."""
    return uri_to_iri(request.get_full_path())


def visible_assets(user) -> QuerySet[Asset]:
    """The assets this person may see, with what cards and pages show loaded up front (no N+1)."""
    return (
        Asset.objects.visible_to(user)
        .select_related("owner", "team")
        .prefetch_related(Prefetch("renditions", queryset=Rendition.objects.order_by("width", "spec")))
    )


def get_visible_asset(user, pk: int) -> Asset:
    """404 unless this person may see the asset: hidden assets do not admit they exist."""
    return get_object_or_404(visible_assets(user), pk=pk)


def get_editable_asset(user, pk: int) -> Asset:
    """404 when hidden, 403 when visible but not editable (even for a hand-crafted POST)."""
    asset = get_visible_asset(user, pk)
    if not asset.is_editable_by(user):
        raise PermissionDenied(VIEW_ONLY)
    return asset
