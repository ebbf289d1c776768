"""Bulk actions on a selection of assets. Each runs in one transaction, touches only the assets the
acting person may edit (``Asset.objects.editable_by``), writes one audit entry, and keeps the
keyword index and vectors in step (through ``editing.write_changes``); everything else is
skipped and counted.

Adding to a collection is the one exception: it changes the collection, not the assets, so it takes
every selected asset the person may *see* (the same rule as adding from the asset page).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import transaction

from assets.actions import audit, collections, deletion, editing, pipeline
from assets.actions.permissions import filing_refusal
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


def clean_ids(asset_ids: Iterable) -> set[int]:
    ids = {int(pk) for pk in asset_ids}
    if not ids:
        raise BulkError("Select at least one asset.")
    if len(ids) > MAX_SELECTION:
        raise BulkError(f"Select at most {MAX_SELECTION} assets at a time.")
    return ids


def _editable(user, ids: set[int], outcome: Outcome) -> list[Asset]:
    """Lock and return the selected assets `user` may edit; count the others as skipped."""
    rows = editing.lock_editable(user, ids)
    if missing := len(ids) - len(rows):
        outcome.skipped[NOT_EDITABLE] += missing
    return rows


def _change(user, asset_ids, outcome: Outcome, action: str, decide) -> Outcome:
    """The shape of every field-changing bulk action: `decide(asset)` returns the asset's changes,
    None when it is already so, or a reason (str) to skip it."""
    ids = clean_ids(asset_ids)
    with transaction.atomic():
        rows, wanted = [], {}
        for asset in _editable(user, ids, outcome):
            decision = decide(asset)
            if decision is None:
                outcome.unchanged += 1
            elif isinstance(decision, str):
                outcome.skipped[decision] += 1
            else:
                rows.append(asset)
                wanted[asset.pk] = decision
        diffs = editing.write_changes(user, rows, wanted)
        outcome.changed = len(diffs)
        if diffs:
            audit.record(user, action, asset_ids=diffs, changes={str(pk): diff for pk, diff in diffs.items()})
    return outcome


def add_tags(user, asset_ids: Iterable, tags: list[str]) -> Outcome:
    return _change_tags(user, asset_ids, tags, adding=True)


def remove_tags(user, asset_ids: Iterable, tags: list[str]) -> Outcome:
    return _change_tags(user, asset_ids, tags, adding=False)


def _change_tags(user, asset_ids, tags: list[str], *, adding: bool):
    if not tags:
        raise BulkError("Enter at least one tag.")

    def decide(asset):
        if adding:
            new = asset.tags + [tag for tag in tags if tag not in asset.tags]
        else:
            new = [tag for tag in asset.tags if tag not in tags]
        if new == asset.tags:
            return None
        if len(new) > MAX_TAGS:
            return f"they would have more than {MAX_TAGS} tags"
        return {"tags": new}

    outcome = Outcome("Tagged" if adding else "Removed the tags from")
    return _change(user, asset_ids, outcome, "asset.tags_added" if adding else "asset.tags_removed", decide)


def set_visibility(user, asset_ids: Iterable, visibility: str) -> Outcome:
    if visibility not in Visibility.values:
        raise BulkError("Choose a visibility.")

    def decide(asset):
        if asset.visibility == visibility:
            return None
        if visibility == Visibility.TEAM and asset.team_id is None:
            return "they have no team (move them to a team first)"
        return {"visibility": visibility}

    return _change(user, asset_ids, Outcome("Changed the visibility of"), "asset.visibility_changed", decide)


def move_to_team(user, asset_ids: Iterable, team: Team) -> Outcome:
    reason = filing_refusal(user, team, Visibility.TEAM)
    if reason:
        raise BulkError(f"You cannot move assets to {team}: {reason}.")

    def decide(asset):
        return None if asset.team_id == team.pk else {"team": team}

    return _change(user, asset_ids, Outcome(f"Moved to {team}:"), "asset.moved_to_team", decide)


def add_to_collection(user, asset_ids: Iterable, collection: Collection) -> Outcome:
    if not collection.is_editable_by(user):
        raise BulkError("You may not change that collection.")
    change = collections.add_assets(user, collection, clean_ids(asset_ids))
    outcome = Outcome(f"Added to “{collection}”:", changed=change.changed, unchanged=change.unchanged)
    if change.skipped:
        outcome.skipped["you may not see them (or they no longer exist)"] = change.skipped
    return outcome


def reprocess(user, asset_ids: Iterable) -> Outcome:
    ids = clean_ids(asset_ids)
    outcome = Outcome("Queued for reprocessing:")
    with transaction.atomic():
        rows = _editable(user, ids, outcome)
        outcome.changed = len(pipeline.reprocess(user, [a.pk for a in rows]))
    return outcome


def count_deletable(user, asset_ids: Iterable) -> tuple[int, int]:
    """(how many of the selection would be deleted, how many would be skipped): for the confirmation."""
    ids = clean_ids(asset_ids)
    deletable = Asset.objects.editable_by(user).filter(pk__in=ids).count()
    return deletable, len(ids) - deletable


NOT_IN_TRASH = "they are not in your trash"


def _counted(user, asset_ids: Iterable, verb: str, act, skipped_because: str) -> Outcome:
    """Run a deletion action (it takes what the person may touch) and count the rest as skipped."""
    ids = clean_ids(asset_ids)
    done = act(user, ids)
    outcome = Outcome(verb, changed=len(done))
    if missing := len(ids) - len(done):
        outcome.skipped[skipped_because] += missing
    return outcome


def delete(user, asset_ids: Iterable) -> Outcome:
    """Move the selection to the trash (restorable until the retention period ends)."""
    return _counted(user, asset_ids, "Moved to the trash:", deletion.trash, NOT_EDITABLE)


def restore(user, asset_ids: Iterable) -> Outcome:
    return _counted(user, asset_ids, "Restored", deletion.restore, NOT_IN_TRASH)


def purge(user, asset_ids: Iterable) -> Outcome:
    return _counted(user, asset_ids, "Deleted for good:", deletion.purge, NOT_IN_TRASH)
