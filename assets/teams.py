"""Reading teams: who manages which. Changes are in ``assets.actions.teams``."""

from __future__ import annotations

from assets.models import Membership, Role, Team


def manages(user, team: Team) -> bool:
    if user.is_superuser:
        return True
    return Membership.objects.filter(team=team, user=user, role=Role.MANAGER).exists()
