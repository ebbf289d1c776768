"""Reading collections: what one person sees of them. Changes are in ``assets.actions.collections``."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import OuterRef, QuerySet, Subquery

from assets.models import Asset, Collection, CollectionItem, Team


def shareable_teams(user) -> QuerySet[Team]:
    """Teams a person may share a collection with: their own (all of them for a superuser)."""
    if user.is_superuser:
        return Team.objects.all()
    return Team.objects.filter(memberships__user=user).distinct()


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
    # Trashed assets are nobody's to see here: they count neither as shown nor as hidden.
    total = Asset.objects.alive().filter(pk__in=member_ids).count()
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
