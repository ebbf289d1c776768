"""Stored files become Blob rows (step 1 of 2; 0006 makes them required and drops the old columns).

Existing files keep their names: each original (one per content hash) and each rendition file
gets a blob row pointing at it. A rendition whose file is gone loses its row (reprocessing makes
it again).
"""

import hashlib

import django.db.models.deletion
from django.conf import settings
from django.core.files.storage import storages
from django.db import migrations, models

def _sha256_of(storage, name):
    digest, size = hashlib.sha256(), 0
    with storage.open(name, "rb") as handle:
        while chunk := handle.read(1024 * 1024):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def files_to_blobs(apps, schema_editor):
    Asset = apps.get_model("assets", "Asset")
    Rendition = apps.get_model("assets", "Rendition")
    Blob = apps.get_model("assets", "Blob")
    storage = storages["default"]
    originals = {}
    for asset in Asset.objects.order_by("pk").iterator():
        blob = originals.get(asset.sha256)
        if blob is None:
            blob = Blob.objects.create(
                store="original", sha256=asset.sha256, size=asset.byte_size, name=asset.file, mime_type=asset.mime_type
            )
            originals[asset.sha256] = blob
        Asset.objects.filter(pk=asset.pk).update(blob=blob)
    renditions = {}
    for rendition in Rendition.objects.order_by("pk").iterator():
        try:
            sha256, size = _sha256_of(storage, rendition.file)
        except (FileNotFoundError, ValueError):
            rendition.delete()
            continue
        blob = renditions.get(sha256)
        if blob is None:
            blob = Blob.objects.create(
                store="rendition", sha256=sha256, size=size, name=rendition.file, mime_type=rendition.mime_type
            )
            renditions[sha256] = blob
        Rendition.objects.filter(pk=rendition.pk).update(blob=blob)


class Migration(migrations.Migration):

    dependencies = [
        ("assets", "0004_collections"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="Blob",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("store", models.CharField(choices=[("original", "Original"), ("rendition", "Rendition")], max_length=16)),
                ("sha256", models.CharField(max_length=64)),
                ("size", models.BigIntegerField()),
                ("name", models.CharField(max_length=255, unique=True)),
                ("mime_type", models.CharField(max_length=64)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
            ],
            options={
                "constraints": [models.UniqueConstraint(fields=("store", "sha256"), name="unique_blob_content")],
            },
        ),
        migrations.AddField(
            model_name="asset",
            name="blob",
            field=models.ForeignKey(
                null=True, on_delete=django.db.models.deletion.PROTECT, related_name="assets", to="assets.blob"
            ),
        ),
        migrations.AddField(
            model_name="rendition",
            name="blob",
            field=models.ForeignKey(
                null=True, on_delete=django.db.models.deletion.PROTECT, related_name="renditions", to="assets.blob"
            ),
        ),
        migrations.RunPython(files_to_blobs, migrations.RunPython.noop),
    ]
