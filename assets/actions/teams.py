"""Changing teams and their memberships (team managers in the portal, superusers in the admin).

A team always keeps at least one manager, so it can never be left without someone to run it.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils.text import slugify

from assets.actions import audit
from assets.models import Membership, Role, Team


class TeamError(ValueError):
    """A membership change that cannot be made, with a reason people can read."""


def _check_role(role: str) -> None:
    if role not in Role.values:
        raise TeamError("Choose viewer, editor or manager.")


def _member(membership: Membership) -> dict:
    return {"id": membership.user_id, "name": membership.user.get_username()}


def create_team(actor, name: str, slug: str = "") -> Team:
    name = " ".join((name or "").split())
    if not name:
        raise TeamError("A team needs a name.")
    try:
        with transaction.atomic():
            team = Team.objects.create(name=name, slug=slugify(slug or name)[:120])
            audit.record(actor, "team.created", team, changes={"name": [None, team.name], "slug": [None, team.slug]})
    except IntegrityError:
        raise TeamError(f"There is already a team named “{name}” (or with its short name).") from None
    return team


def update_team(actor, team: Team, *, name: str, slug: str) -> Team:
    before = {"name": team.name, "slug": team.slug}
    after = {"name": " ".join((name or "").split()), "slug": slugify(slug)[:120]}
    if not after["name"] or not after["slug"]:
        raise TeamError("A team needs a name and a short name.")
    changes = audit.diff(before, after)
    if not changes:
        return team
    try:
        with transaction.atomic():
            Team.objects.filter(pk=team.pk).update(**after)
            team.name, team.slug = after["name"], after["slug"]
            audit.record(actor, "team.updated", team, changes=changes)
    except IntegrityError:
        raise TeamError("Another team already has that name or short name.") from None
    return team


def delete_team(actor, team: Team) -> None:
    """Assets filed under the team keep their owner; their team is cleared (SET_NULL)."""
    with transaction.atomic():
        audit.record(actor, "team.deleted", team, detail={"members": team.memberships.count()})
        team.delete()


def add_member(actor, team: Team, username: str, role: str) -> Membership:
    _check_role(role)
    username = (username or "").strip()
    user = get_user_model().objects.filter(username__iexact=username, is_active=True).first()
    if user is None:
        raise TeamError(f"There is no active account named “{username}”.")
    if not (user.is_staff or user.is_superuser):
        raise TeamError(f"“{user.get_username()}” is not a staff account and could not use MediaVault.")
    with transaction.atomic():
        membership, created = Membership.objects.get_or_create(team=team, user=user, defaults={"role": role})
        if not created:
            raise TeamError(f"“{user.get_username()}” is already a member ({membership.get_role_display().lower()}).")
        audit.record(actor, "team.member_added", team, changes={"member": [None, _member(membership)],
                                                                 "role": [None, role]})
    return membership


def _lock_managers(team_id: int) -> None:
    # Lock the team's manager rows (in id order, so two requests lock them alike) so that two
    # managers demoting each other cannot leave none.
    list(Membership.objects.select_for_update().filter(team_id=team_id, role=Role.MANAGER).order_by("pk"))


def _other_managers(membership: Membership) -> bool:
    others = Membership.objects.filter(team_id=membership.team_id, role=Role.MANAGER).exclude(pk=membership.pk)
    return others.exists()


def set_role(actor, membership: Membership, role: str) -> Membership:
    _check_role(role)
    with transaction.atomic():
        _lock_managers(membership.team_id)
        membership.refresh_from_db()
        if membership.role == role:
            return membership
        if membership.role == Role.MANAGER and not _other_managers(membership):
            raise TeamError("A team needs at least one manager: make someone else a manager first.")
        old = membership.role
        membership.role = role
        membership.save(update_fields=["role"])
        audit.record(actor, "team.role_changed", membership.team,
                     changes={"member": [_member(membership), _member(membership)], "role": [old, role]})
    return membership


def remove_member(actor, membership: Membership) -> None:
    with transaction.atomic():
        _lock_managers(membership.team_id)
        membership.refresh_from_db()
        if membership.role == Role.MANAGER and not _other_managers(membership):
            raise TeamError("A team needs at least one manager: make someone else a manager first.")
        audit.record(actor, "team.member_removed", membership.team,
                     changes={"member": [_member(membership), None], "role": [membership.role, None]})
        membership.delete()
