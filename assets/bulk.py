"""Bulk actions on a selection of assets. Each runs in one transaction and touches only the assets
the acting person may edit (``Asset.objects.editable_by``); everything else is skipped and counted.

Adding to a collection is the one exception: it changes the collection, not the assets, so it takes
every selected asset the person may *see* (the same rule as adding from the asset page).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from assets import actions, collections
from assets.errors import RejectedUpload
from assets.models import Asset, Collection, Team, Visibility
from assets.tags import MAX_TAGS

MAX_SELECTION = 1000
NOT_EDITABLE = "you may not edit them (or they no longer exist)"


class BulkError(ValueError):
    """The whole request is refused (nothing changed), with a reason people can read."""


@dataclass
class Outcome:
    """What a bulk action did. `skipped` maps a reason to how many selected assets it kept unchanged."""

    verb: str  # past tense, e.g. "Tagged"
    changed: int = 0
    unchanged: int = 0
    skipped: Counter = field(default_factory=Counter)

    @property
    def skipped_total(self) -> int:
        return sum(self.skipped.values())

    def message(self) -> str:
        def assets(n: int) -> str:
            return f"{n} asset{'s' if n != 1 else ''}"

        parts = [f"{self.verb} {assets(self.changed)}."]
        if self.unchanged:
            parts.append(f"{assets(self.unchanged)} already so.")
        for reason, count in self.skipped.items():
            parts.append(f"Skipped {assets(count)}: {reason}.")
        return " ".join(parts)


def _clean_ids(asset_ids: Iterable) -> set[int]:
    ids = {int(pk) for pk in asset_ids}
    if not ids:
        raise BulkError("Select at least one asset.")
    if len(ids) > MAX_SELECTION:
        raise BulkError(f"Select at most {MAX_SELECTION} assets at a time.")
    return ids


def _editable(user, ids: set[int], outcome: Outcome) -> list[Asset]:
    """Lock and return the selected assets `user` may edit; count the others as skipped."""
    rows = list(Asset.objects.editable_by(user).filter(pk__in=ids).select_for_update(of=("self",)).order_by("pk"))
    if missing := len(ids) - len(rows):
        outcome.skipped[NOT_EDITABLE] += missing
    return rows


def _save(asset: Asset, **values) -> None:
    # Only these columns: a worker may be writing status or EXIF to the same row right now.
    Asset.objects.filter(pk=asset.pk).update(**values, updated_at=timezone.now())


def add_tags(user, asset_ids: Iterable, tags: list[str]) -> Outcome:
    return _change_tags(user, asset_ids, tags, adding=True)


def remove_tags(user, asset_ids: Iterable, tags: list[str]) -> Outcome:
    return _change_tags(user, asset_ids, tags, adding=False)


def _change_tags(user, asset_ids, tags: list[str], *, adding: bool) -> Outcome:
    if not tags:
        raise BulkError("Enter at least one tag.")
    ids = _clean_ids(asset_ids)
    outcome = Outcome("Tagged" if adding else "Removed the tags from")
    with transaction.atomic():
        changed_ids = []
        for asset in _editable(user, ids, outcome):
            if adding:
                new = asset.tags + [tag for tag in tags if tag not in asset.tags]
            else:
                new = [tag for tag in asset.tags if tag not in tags]
            if new == asset.tags:
                outcome.unchanged += 1
            elif len(new) > MAX_TAGS:
                outcome.skipped[f"they would have more than {MAX_TAGS} tags"] += 1
            else:
                _save(asset, tags=new)
                changed_ids.append(asset.pk)
        outcome.changed = len(changed_ids)
        if changed_ids:
            actions.request_embedding(changed_ids)  # tags are searchable text
    return outcome


def set_visibility(user, asset_ids: Iterable, visibility: str) -> Outcome:
    if visibility not in Visibility.values:
        raise BulkError("Choose a visibility.")
    ids = _clean_ids(asset_ids)
    outcome = Outcome("Changed the visibility of")
    with transaction.atomic():
        for asset in _editable(user, ids, outcome):
            if asset.visibility == visibility:
                outcome.unchanged += 1
            elif visibility == Visibility.TEAM and asset.team_id is None:
                outcome.skipped["they have no team (move them to a team first)"] += 1
            else:
                _save(asset, visibility=visibility)
                outcome.changed += 1
    return outcome


def move_to_team(user, asset_ids: Iterable, team: Team) -> Outcome:
    try:
        actions.check_options(user, actions.AssetOptions(team=team, visibility=Visibility.TEAM))
    except RejectedUpload as exc:
        raise BulkError(f"You cannot move assets to {team}: {exc.reason}.") from None
    ids = _clean_ids(asset_ids)
    outcome = Outcome(f"Moved to {team}:")
    with transaction.atomic():
        for asset in _editable(user, ids, outcome):
            if asset.team_id == team.pk:
                outcome.unchanged += 1
            else:
                _save(asset, team=team)
                outcome.changed += 1
    return outcome


def add_to_collection(user, asset_ids: Iterable, collection: Collection) -> Outcome:
    if not collection.is_editable_by(user):
        raise BulkError("You may not change that collection.")
    change = collections.add_assets(user, collection, _clean_ids(asset_ids))
    outcome = Outcome(f"Added to “{collection}”:", changed=change.changed, unchanged=change.unchanged)
    if change.skipped:
        outcome.skipped["you may not see them (or they no longer exist)"] = change.skipped
    return outcome


def reprocess(user, asset_ids: Iterable) -> Outcome:
    ids = _clean_ids(asset_ids)
    outcome = Outcome("Queued for reprocessing:")
    with transaction.atomic():
        for asset in _editable(user, ids, outcome):
            actions.reprocess_asset(asset)
            outcome.changed += 1
    return outcome


def count_deletable(user, asset_ids: Iterable) -> tuple[int, int]:
    """(how many of the selection would be deleted, how many would be skipped): for the confirmation."""
    ids = _clean_ids(asset_ids)
    deletable = Asset.objects.editable_by(user).filter(pk__in=ids).count()
    return deletable, len(ids) - deletable


def delete(user, asset_ids: Iterable) -> Outcome:
    ids = _clean_ids(asset_ids)
    outcome = Outcome("Deleted")
    with transaction.atomic():
        for asset in _editable(user, ids, outcome):
            actions.delete_asset(asset)  # files go once the transaction commits
            outcome.changed += 1
    return outcome
