"""Team membership changes by team managers. Views find the team and check who asks; these change state.

A team always keeps at least one manager, so it can never be left without someone to run it.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import transaction

from assets.models import Membership, Role, Team


class TeamError(ValueError):
    """A membership change that cannot be made, with a reason people can read."""


def manages(user, team: Team) -> bool:
    if user.is_superuser:
        return True
    return Membership.objects.filter(team=team, user=user, role=Role.MANAGER).exists()


def _check_role(role: str) -> None:
    if role not in Role.values:
        raise TeamError("Choose viewer, editor or manager.")


def add_member(team: Team, username: str, role: str) -> Membership:
    _check_role(role)
    username = (username or "").strip()
    user = get_user_model().objects.filter(username__iexact=username, is_active=True).first()
    if user is None:
        raise TeamError(f"There is no active account named “{username}”.")
    if not (user.is_staff or user.is_superuser):
        raise TeamError(f"“{user.get_username()}” is not a staff account and could not use MediaVault.")
    membership, created = Membership.objects.get_or_create(team=team, user=user, defaults={"role": role})
    if not created:
        raise TeamError(f"“{user.get_username()}” is already a member ({membership.get_role_display().lower()}).")
    return membership


def _other_managers(membership: Membership) -> bool:
    others = Membership.objects.filter(team_id=membership.team_id, role=Role.MANAGER).exclude(pk=membership.pk)
    return others.exists()


def set_role(membership: Membership, role: str) -> Membership:
    _check_role(role)
    with transaction.atomic():
        # Lock the team's manager rows so two managers demoting each other cannot leave none.
        list(Membership.objects.select_for_update().filter(team_id=membership.team_id, role=Role.MANAGER))
        membership.refresh_from_db()
        if membership.role == Role.MANAGER and role != Role.MANAGER and not _other_managers(membership):
            raise TeamError("A team needs at least one manager: make someone else a manager first.")
        membership.role = role
        membership.save(update_fields=["role"])
    return membership


def remove_member(membership: Membership) -> None:
    with transaction.atomic():
        list(Membership.objects.select_for_update().filter(team_id=membership.team_id, role=Role.MANAGER))
        membership.refresh_from_db()
        if membership.role == Role.MANAGER and not _other_managers(membership):
            raise TeamError("A team needs at least one manager: make someone else a manager first.")
        membership.delete()
