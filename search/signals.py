"""Keep the BM25 index in step with Asset.save(), inside the saving transaction.

Deletion needs no handler: search rows go with the asset through ON DELETE CASCADE.
"""

from __future__ import annotations

from django.db.models.signals import post_save

from assets.models import Asset
from search.analyzer import INDEXED_FIELDS, document_tokens
from search.indexing import index_asset, index_new_asset, token_hash
from search.models import Document


def asset_saved(sender, instance: Asset, created: bool, update_fields=None, **kwargs) -> None:
    # A save that names its fields and none of ours (status, thumbnails, vectors) costs no query.
    if not created and update_fields is not None and INDEXED_FIELDS.isdisjoint(update_fields):
        return
    if created:
        index_new_asset(instance)
        return
    stored = Document.objects.filter(asset_id=instance.pk).values_list("token_hash", "stale").first()
    if stored is None or stored[0] != token_hash(document_tokens(instance)):
        index_asset(instance)
    elif stored[1]:
        # The text changed (the trigger flagged it) but not its tokens ("Dawn" -> "dawn!").
        Document.objects.filter(asset_id=instance.pk).update(stale=False)
    # Otherwise the same tokens are indexed already: editing team or visibility costs one read.


def connect() -> None:
    post_save.connect(asset_saved, sender=Asset, dispatch_uid="search.index_asset")
