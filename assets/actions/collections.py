"""Changing collections. Views find them through ``Collection.objects.visible_to`` / ``editable_by``;
these change state atomically, each with its audit entry.

A collection never widens what anyone sees: adding needs the asset to be visible to the person
adding it, and every listing goes through ``Asset.objects.visible_to`` for the person looking.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from assets.actions import audit
from assets.collections import shareable_teams
from assets.models import Asset, Collection, CollectionItem, CollectionShare, ShareRole, Team

MAX_NAME_LENGTH = 120


class CollectionError(ValueError):
    """A request about a collection that cannot be carried out, with a reason people can read."""


@dataclass(frozen=True)
class Change:
    """What one request did: rows changed, rows already so, ids skipped (hidden, missing or not allowed)."""

    changed: int
    unchanged: int = 0
    skipped: int = 0


def clean_name(name: str) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise CollectionError("A collection needs a name.")
    if len(name) > MAX_NAME_LENGTH:
        raise CollectionError(f"A collection name has at most {MAX_NAME_LENGTH} characters.")
    return name


def _check_editable(user, collection: Collection) -> None:
    if not Collection.objects.editable_by(user).filter(pk=collection.pk).exists():
        raise CollectionError("You may not change that collection.")


def _check_owner(user, collection: Collection, doing: str) -> None:
    if collection.owner_id != user.pk and not user.is_superuser:
        raise CollectionError(f"Only the owner of a collection can {doing}.")


def create_collection(user, name: str) -> Collection:
    with transaction.atomic():
        collection = Collection.objects.create(owner=user, name=clean_name(name))
        audit.record(user, "collection.created", collection, changes={"name": [None, collection.name]})
    return collection


def rename_collection(user, collection: Collection, name: str) -> Collection:
    name = clean_name(name)
    with transaction.atomic():
        _check_editable(user, collection)
        old = collection.name
        collection.name = name
        collection.save(update_fields=["name", "updated_at"])
        audit.record(user, "collection.renamed", collection, changes=audit.diff({"name": old}, {"name": name}))
    return collection


def delete_collection(user, collection: Collection) -> None:
    """Removes the collection and its memberships; the assets themselves stay."""
    with transaction.atomic():
        _check_owner(user, collection, "delete it")
        members = list(collection.items.values_list("asset_id", flat=True))
        audit.record(user, "collection.deleted", collection, asset_ids=members, detail={"assets": len(members)})
        collection.delete()


def _ids(asset_ids: Iterable) -> set[int]:
    return {int(pk) for pk in asset_ids}


def add_assets(user, collection: Collection, asset_ids: Iterable[int]) -> Change:
    """Add the assets `user` may see; ids of assets they may not see are skipped, never added."""
    wanted = _ids(asset_ids)
    with transaction.atomic():
        _check_editable(user, collection)
        visible = set(Asset.objects.visible_to(user).filter(pk__in=wanted).values_list("pk", flat=True))
        present = set(collection.items.filter(asset_id__in=visible).values_list("asset_id", flat=True))
        new = sorted(visible - present)
        CollectionItem.objects.bulk_create(
            [CollectionItem(collection=collection, asset_id=pk, added_by=user) for pk in new],
            ignore_conflicts=True,  # a concurrent request adding the same asset is not an error
        )
        if new:
            Collection.objects.filter(pk=collection.pk).update(updated_at=timezone.now())
            audit.record(user, "collection.assets_added", collection, asset_ids=new)
    return Change(changed=len(new), unchanged=len(present), skipped=len(wanted - visible))


def remove_assets(user, collection: Collection, asset_ids: Iterable[int]) -> Change:
    """Take assets out. Assets hidden from `user` are left in place: they cannot name what they cannot see."""
    wanted = _ids(asset_ids)
    with transaction.atomic():
        _check_editable(user, collection)
        visible = set(Asset.objects.visible_to(user).filter(pk__in=wanted).values_list("pk", flat=True))
        removed_ids = sorted(collection.items.filter(asset_id__in=visible).values_list("asset_id", flat=True))
        if removed_ids:
            collection.items.filter(asset_id__in=removed_ids).delete()
            Collection.objects.filter(pk=collection.pk).update(updated_at=timezone.now())
            audit.record(user, "collection.assets_removed", collection, asset_ids=removed_ids)
    removed = len(removed_ids)
    return Change(changed=removed, unchanged=len(visible) - removed, skipped=len(wanted - visible))


def share_collection(user, collection: Collection, team: Team, role: str) -> CollectionShare:
    """Share with a team (or change the role of an existing share). Only the owner (or a superuser) shares."""
    _check_owner(user, collection, "share it")
    if role not in ShareRole.values:
        raise CollectionError("Choose viewer or editor.")
    if not shareable_teams(user).filter(pk=team.pk).exists():
        raise CollectionError("You can share only with teams you belong to.")
    with transaction.atomic():
        old = CollectionShare.objects.filter(collection=collection, team=team).values_list("role", flat=True).first()
        share, _ = CollectionShare.objects.update_or_create(collection=collection, team=team, defaults={"role": role})
        if old != role:
            audit.record(
                user, "collection.shared", collection,
                changes={"team": [None, {"id": team.pk, "name": team.name}], "role": [old, role]},
            )
    return share


def unshare_collection(user, collection: Collection, team_id: int) -> bool:
    _check_owner(user, collection, "change its sharing")
    with transaction.atomic():
        share = collection.shares.select_related("team").filter(team_id=team_id).first()
        if share is None:
            return False
        share.delete()
        audit.record(
            user, "collection.unshared", collection,
            changes={"team": [{"id": share.team.pk, "name": share.team.name}, None], "role": [share.role, None]},
        )
    return True
