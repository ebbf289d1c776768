from __future__ import annotations

from django.core.files.storage import Storage
from django.db import models


class BlobStore(models.TextChoices):
    ORIGINAL = "original", "Original"
    RENDITION = "rendition", "Rendition"


class Blob(models.Model):
    """One stored file, named by its content. Assets and renditions point at blobs (PROTECT), so a
    file can only go when no row uses it; only ``assets.actions.blobs`` creates and removes them.

    Same bytes, same blob: another owner's upload of an existing photo reuses its blob. The
    storage name carries a random part as well as the hash, so a blob removed and made again
    (purge racing an upload of the same bytes) never shares a name with its predecessor, and the
    late removal of the old file cannot touch the new one.
    """

    store = models.CharField(max_length=16, choices=BlobStore.choices)
    sha256 = models.CharField(max_length=64)
    size = models.BigIntegerField()
    name = models.CharField(max_length=255, unique=True)
    mime_type = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        app_label = "assets"
        constraints = [models.UniqueConstraint(fields=["store", "sha256"], name="unique_blob_content")]

    def __str__(self) -> str:
        return self.name

    @property
    def storage(self) -> Storage:
        from assets.storage import storage_for

        return storage_for(self.store)

    def open(self):
        """The stored file for reading; FileNotFoundError when it is missing from storage."""
        return self.storage.open(self.name, "rb")
