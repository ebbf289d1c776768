"""Named service functions for collections. Views validate and look rows up through
``Collection.objects.visible_to`` / ``editable_by``; these change state atomically.

A collection never widens what anyone sees: adding needs the asset to be visible to the person
adding it, and every listing goes through ``Asset.objects.visible_to`` for the person looking.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db import transaction
from django.db.models import OuterRef, QuerySet, Subquery

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


def create_collection(user, name: str) -> Collection:
    return Collection.objects.create(owner=user, name=clean_name(name))


def rename_collection(collection: Collection, name: str) -> Collection:
    collection.name = clean_name(name)
    collection.save(update_fields=["name", "updated_at"])
    return collection


def delete_collection(collection: Collection) -> None:
    """Removes the collection and its memberships; the assets themselves stay."""
    collection.delete()


def _ids(asset_ids: Iterable) -> set[int]:
    return {int(pk) for pk in asset_ids}


def add_assets(user, collection: Collection, asset_ids: Iterable[int]) -> Change:
    """Add the assets `user` may see; ids of assets they may not see are skipped, never added."""
    wanted = _ids(asset_ids)
    visible = set(Asset.objects.visible_to(user).filter(pk__in=wanted).values_list("pk", flat=True))
    with transaction.atomic():
        present = set(collection.items.filter(asset_id__in=visible).values_list("asset_id", flat=True))
        new = sorted(visible - present)
        CollectionItem.objects.bulk_create(
            [CollectionItem(collection=collection, asset_id=pk, added_by=user) for pk in new],
            ignore_conflicts=True,  # a concurrent request adding the same asset is not an error
        )
        if new:
            collection.save(update_fields=["updated_at"])
    return Change(changed=len(new), unchanged=len(present), skipped=len(wanted - visible))


def remove_assets(user, collection: Collection, asset_ids: Iterable[int]) -> Change:
    """Take assets out. Assets hidden from `user` are left in place: they cannot name what they cannot see."""
    wanted = _ids(asset_ids)
    visible = set(Asset.objects.visible_to(user).filter(pk__in=wanted).values_list("pk", flat=True))
    with transaction.atomic():
        removed, _ = collection.items.filter(asset_id__in=visible).delete()
        if removed:
            collection.save(update_fields=["updated_at"])
    return Change(changed=removed, unchanged=len(visible) - removed, skipped=len(wanted - visible))


def shareable_teams(user) -> QuerySet[Team]:
    """Teams a person may share a collection with: their own (all of them for a superuser)."""
    if user.is_superuser:
        return Team.objects.all()
    return Team.objects.filter(memberships__user=user).distinct()


def share_collection(user, collection: Collection, team: Team, role: str) -> CollectionShare:
    """Share with a team (or change the role of an existing share). Only the owner (or a superuser) shares."""
    if collection.owner_id != user.pk and not user.is_superuser:
        raise CollectionError("Only the owner of a collection can share it.")
    if role not in ShareRole.values:
        raise CollectionError("Choose viewer or editor.")
    if not shareable_teams(user).filter(pk=team.pk).exists():
        raise CollectionError("You can share only with teams you belong to.")
    share, _ = CollectionShare.objects.update_or_create(collection=collection, team=team, defaults={"role": role})
    return share


def unshare_collection(user, collection: Collection, team_id: int) -> bool:
    if collection.owner_id != user.pk and not user.is_superuser:
        raise CollectionError("Only the owner of a collection can change its sharing.")
    deleted, _ = collection.shares.filter(team_id=team_id).delete()
    return bool(deleted)


@dataclass(frozen=True)
class Contents:
    """What one person sees of a collection: their visible assets in it, and how many are hidden."""

    assets: QuerySet[Asset]
    visible: int
    hidden: int


def contents(user, collection: Collection, visible_assets: QuerySet[Asset]) -> Contents:
    """`visible_assets` is the caller's ``visible_to(user)`` queryset (with its prefetches)."""
    member_ids = collection.items.values("asset_id")
    added_at = CollectionItem.objects.filter(collection=collection, asset=OuterRef("pk")).values("added_at")[:1]
    # Subqueries rather than a join: rows stay unique and the visibility rule stays the only filter.
    assets = visible_assets.filter(pk__in=member_ids).annotate(added_at=Subquery(added_at)).order_by("-added_at", "-id")
    total = collection.items.count()
    visible = Asset.objects.visible_to(user).filter(pk__in=member_ids).count()
    return Contents(assets=assets, visible=visible, hidden=total - visible)


def collections_with_asset(user, asset: Asset) -> tuple[list[Collection], list[Collection]]:
    """(collections holding the asset that `user` sees, editable collections of `user` that do not hold it)."""
    visible = Collection.objects.visible_to(user)
    holding = list(visible.filter(items__asset=asset).select_related("owner"))
    editable_ids = set(Collection.objects.editable_by(user).values_list("pk", flat=True))
    for collection in holding:
        collection.can_edit = collection.pk in editable_ids
    others = list(Collection.objects.editable_by(user).exclude(items__asset=asset).order_by("name"))
    return holding, others
