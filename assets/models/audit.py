from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.utils import timezone


class AuditEntry(models.Model):
    """Who did what to which object, and when: one row per action, never edited or deleted.

    Written only by ``assets.actions`` (each action writes exactly one entry, in its own
    transaction); a database trigger refuses UPDATE and DELETE. The actor is kept by id and by
    name, without a foreign key, so removing an account never rewrites history.

    ``changes`` maps a field to ``[before, after]`` for an action on one object; an action on
    many assets (bulk tagging, a batch of vectors) keys it by asset id instead. ``asset_ids``
    lists every asset the action touched, so an asset's history is one indexed lookup.
    """

    at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.DO_NOTHING, db_constraint=False,
        related_name="+",
    )
    actor_name = models.CharField(max_length=150, help_text="The account's name at the time; 'system' for workers.")
    action = models.CharField(max_length=48, db_index=True)
    object_type = models.CharField(max_length=24)
    object_id = models.BigIntegerField(null=True, blank=True)
    object_repr = models.CharField(max_length=255, blank=True)
    asset_ids = ArrayField(models.BigIntegerField(), default=list, blank=True)
    changes = models.JSONField(default=dict, blank=True)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        app_label = "assets"
        ordering = ["-at", "-id"]
        verbose_name = "audit entry"
        verbose_name_plural = "audit log"
        indexes = [
            GinIndex(fields=["asset_ids"], name="audit_asset_ids_gin"),
            models.Index(fields=["object_type", "object_id"], name="audit_object"),
            models.Index(fields=["actor", "at"], name="audit_actor_at"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.actor_name} {self.action} {self.object_repr}"

    def changes_for(self, asset_id: int) -> dict:
        """This entry's field changes of one asset, whether it touched one asset or many."""
        if self.object_id is None:
            return self.changes.get(str(asset_id), {})
        return self.changes if (self.object_type, self.object_id) == ("asset", asset_id) else {}
