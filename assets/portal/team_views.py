"""Team pages: everyone sees their teams and role; managers (and superusers) manage members."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST, require_safe

from assets import teams
from assets.actions import teams as team_actions
from assets.models import Membership, Team
from assets.portal.access import staff_required
from assets.portal.forms import MemberForm, RoleForm
from assets.portal.navigation import apply_form

MANAGERS_ONLY = "Only managers of this team can see and change its members."


def get_managed_team(user, slug: str) -> Team:
    """404 for teams the person is not in, 403 for members who are not managers."""
    team = get_object_or_404(Team, slug=slug)
    if user.is_superuser:
        return team
    if not Membership.objects.filter(team=team, user=user).exists():
        raise Http404("No such team.")
    if not teams.manages(user, team):
        raise PermissionDenied(MANAGERS_ONLY)
    return team


@staff_required
@require_safe
def team_list(request):
    memberships = (
        Membership.objects.filter(user=request.user)
        .select_related("team")
        .annotate(member_count=Count("team__memberships"))
        .order_by("team__name")
    )
    return render(request, "portal/teams.html", {"memberships": memberships, "nav": "teams"})


@staff_required
@require_safe
def team_detail(request, slug: str):
    team = get_managed_team(request.user, slug)
    members = team.memberships.select_related("user").order_by("user__username")
    context = {
        "team": team,
        "members": members,
        "form": MemberForm(),
        "roles": RoleForm.base_fields["role"].choices,
        "nav": "teams",
    }
    return render(request, "portal/team_detail.html", context)


@staff_required
@require_POST
def member_add(request, slug: str):
    team = get_managed_team(request.user, slug)

    def add(data) -> str:
        membership = team_actions.add_member(request.user, team, data["username"], data["role"])
        return f"Added {membership.user.get_username()} as {membership.role}."

    apply_form(request, MemberForm(request.POST), add, team_actions.TeamError)
    return redirect("portal:team-detail", slug=team.slug)


def _membership(team: Team, pk: int) -> Membership:
    return get_object_or_404(Membership.objects.select_related("user"), team=team, pk=pk)


@staff_required
@require_POST
def member_role(request, slug: str, pk: int):
    team = get_managed_team(request.user, slug)
    membership = _membership(team, pk)

    def change(data) -> str:
        team_actions.set_role(request.user, membership, data["role"])
        return f"{membership.user.get_username()} is now {membership.role}."

    apply_form(request, RoleForm(request.POST), change, team_actions.TeamError)
    return redirect("portal:team-detail", slug=team.slug)


@staff_required
@require_POST
def member_remove(request, slug: str, pk: int):
    team = get_managed_team(request.user, slug)
    membership = _membership(team, pk)
    try:
        team_actions.remove_member(request.user, membership)
    except team_actions.TeamError as exc:
        messages.error(request, str(exc))
        return redirect("portal:team-detail", slug=team.slug)
    messages.success(request, f"Removed {membership.user.get_username()} from {team}.")
    if membership.user_id == request.user.pk and not request.user.is_superuser:
        return redirect("portal:teams")  # they no longer manage it
    return redirect("portal:team-detail", slug=team.slug)
