"""The rules the actions enforce themselves, whichever door the request came through.

Views check first to answer 404/403 with a helpful page; the actions check again on the row
they have locked, so no door (the admin included) can do more than the rules allow.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied

from assets.models import EDIT_ROLES, Asset, Membership, Visibility

NOT_EDITABLE = "You may not change this asset."


class NotAllowed(PermissionDenied):
    """The acting person may not do this; the message says why."""


def filing_refusal(user, team, visibility: str) -> str:
    """Why `user` may not file an asset under `team` with `visibility`, or "" when they may.

    The one rule for uploading into a team, moving an asset into one and choosing visibility."""
    if visibility not in Visibility.values:
        return f"visibility must be one of {', '.join(Visibility.values)}"
    if visibility == Visibility.TEAM and team is None:
        return "team visibility needs a team"
    editor = Membership.objects.filter(user=user, team=team, role__in=EDIT_ROLES)
    if team is not None and not user.is_superuser and not editor.exists():
        return "you are not an editor or manager of that team"
    return ""


def check_editable(user, asset: Asset) -> None:
    if user is not None and not Asset.objects.editable_by(user).filter(pk=asset.pk).exists():
        raise NotAllowed(NOT_EDITABLE)
