"""Visibility scopes of the keyword statistics: whose documents a caller's BM25 numbers count.

Every indexed document falls in one scope: the organisation (0) for organisation-visible assets,
its team (-team id) for team-visible ones, its owner (+user id) for private ones. A caller's
statistics (N, average length, document frequencies) are the sums over the scopes they can see:
the organisation, each of their teams, their own private assets. No score therefore depends on an
asset the caller may not see (with corpus-wide statistics, counting someone's private assets
containing a word was a matter of watching one's own scores move).

The trade-off: two people see the same document with slightly different scores when they see
different corpora (someone in more teams, someone with many private assets); results are ranked
within one caller's view, so this never reorders a page in a way they could not see the reason
for. An owner's team-visible asset filed under a team they have left counts for nobody's view but
that team's. Superusers see everything and get the corpus-wide statistics.
"""

from __future__ import annotations

from assets.models import Membership, Visibility

ORGANISATION = 0


def scope_of(visibility: str, team_id: int | None, owner_id: int) -> int:
    if visibility == Visibility.ORGANISATION:
        return ORGANISATION
    if visibility == Visibility.TEAM and team_id is not None:
        return -team_id
    return owner_id


def scopes_for(user) -> list[int] | None:
    """The scopes whose statistics `user`'s scores use; None: every document (superusers, tools)."""
    if user is None or user.is_superuser:
        return None
    teams = Membership.objects.filter(user=user).values_list("team_id", flat=True)
    return [ORGANISATION, user.pk, *(-team for team in teams)]
