from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from assets.models.assets import Asset
from assets.models.teams import EDIT_ROLES, Membership, StaffGateQuerySet, Team


class ShareRole(models.TextChoices):
    VIEWER = "viewer", "Viewer (can see the collection)"
    EDITOR = "editor", "Editor (can rename it and add or remove assets)"


def _collection_visible_rule(user) -> Q:
    member_teams = Membership.objects.filter(user=user).values("team")
    shared = CollectionShare.objects.filter(team__in=member_teams).values("collection")
    return Q(owner=user) | Q(pk__in=shared)


def _collection_editable_rule(user) -> Q:
    editor_teams = Membership.objects.filter(user=user, role__in=EDIT_ROLES).values("team")
    shared = CollectionShare.objects.filter(team__in=editor_teams, role=ShareRole.EDITOR).values("collection")
    return Q(owner=user) | Q(pk__in=shared)


class CollectionQuerySet(StaffGateQuerySet):
    """Who sees and who changes a collection. Seeing a collection never lets anyone see more assets:
    its pages list only ``Asset.objects.visible_to(user)``."""

    def visible_to(self, user) -> CollectionQuerySet:
        return self._for_staff(user, _collection_visible_rule)

    def editable_by(self, user) -> CollectionQuerySet:
        return self._for_staff(user, _collection_editable_rule)


class Collection(models.Model):
    """A named set of assets, owned by one person and optionally shared with teams."""

    name = models.CharField(max_length=120)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="collections")
    assets = models.ManyToManyField(Asset, through="CollectionItem", related_name="collections")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = CollectionQuerySet.as_manager()

    class Meta:
        app_label = "assets"
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name

    def is_editable_by(self, user) -> bool:
        return Collection.objects.editable_by(user).filter(pk=self.pk).exists()


class CollectionItem(models.Model):
    collection = models.ForeignKey(Collection, on_delete=models.CASCADE, related_name="items")
    asset = models.ForeignKey(Asset, on_delete=models.CASCADE, related_name="collection_items")
    added_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        app_label = "assets"
        constraints = [models.UniqueConstraint(fields=["collection", "asset"], name="unique_collection_item")]
        ordering = ["-added_at", "-id"]

    def __str__(self) -> str:
        return f"{self.asset_id} in {self.collection_id}"


class CollectionShare(models.Model):
    collection = models.ForeignKey(Collection, on_delete=models.CASCADE, related_name="shares")
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="collection_shares")
    role = models.CharField(max_length=16, choices=ShareRole.choices, default=ShareRole.VIEWER)

    class Meta:
        app_label = "assets"
        constraints = [models.UniqueConstraint(fields=["collection", "team"], name="unique_collection_share")]
        ordering = ["team__name"]

    def __str__(self) -> str:
        return f"{self.collection} shared with {self.team} ({self.role})"
