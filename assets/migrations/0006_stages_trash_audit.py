"""Assets: blobs required, stage claims and leases, a trash; the audit log, which nothing may rewrite."""

import django.contrib.postgres.fields
import django.contrib.postgres.indexes
import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

AUDIT_IMMUTABLE = """
CREATE FUNCTION assets_audit_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit entries are never changed or deleted';
END $$;
CREATE TRIGGER assets_auditentry_immutable BEFORE UPDATE OR DELETE ON assets_auditentry
    FOR EACH ROW EXECUTE FUNCTION assets_audit_immutable();
"""
AUDIT_IMMUTABLE_REVERSE = """
DROP TRIGGER IF EXISTS assets_auditentry_immutable ON assets_auditentry;
DROP FUNCTION IF EXISTS assets_audit_immutable();
"""



class Migration(migrations.Migration):

    dependencies = [
        ("assets", "0005_blobs"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name="asset",
            name="blob",
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="assets", to="assets.blob"),
        ),
        migrations.AlterField(
            model_name="rendition",
            name="blob",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT, related_name="renditions", to="assets.blob"
            ),
        ),
        migrations.RemoveField(model_name="asset", name="file"),
        migrations.RemoveField(model_name="rendition", name="file"),
        migrations.AddField(
            model_name="asset",
            name="deleted_at",
            field=models.DateTimeField(blank=True, db_index=True, null=True),
        ),
        migrations.AddField(
            model_name="asset",
            name="deleted_by",
            field=models.ForeignKey(
                blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddField(
            model_name="asset", name="embedding_attempts", field=models.PositiveIntegerField(default=0)
        ),
        migrations.AddField(
            model_name="asset",
            name="embedding_claim",
            field=models.UUIDField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name="asset",
            name="embedding_lease_until",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name="asset",
            name="ingest_claim",
            field=models.UUIDField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name="asset",
            name="ingest_lease_until",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name="asset",
            name="queued_at",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.CreateModel(
            name="AuditEntry",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("at", models.DateTimeField(db_index=True, default=django.utils.timezone.now)),
                (
                    "actor_name",
                    models.CharField(help_text="The account's name at the time; 'system' for workers.", max_length=150),
                ),
                ("action", models.CharField(db_index=True, max_length=48)),
                ("object_type", models.CharField(max_length=24)),
                ("object_id", models.BigIntegerField(blank=True, null=True)),
                ("object_repr", models.CharField(blank=True, max_length=255)),
                (
                    "asset_ids",
                    django.contrib.postgres.fields.ArrayField(
                        base_field=models.BigIntegerField(), blank=True, default=list, size=None
                    ),
                ),
                ("changes", models.JSONField(blank=True, default=dict)),
                ("detail", models.JSONField(blank=True, default=dict)),
                (
                    "actor",
                    models.ForeignKey(
                        blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+", to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "verbose_name": "audit entry",
                "verbose_name_plural": "audit log",
                "ordering": ["-at", "-id"],
                "indexes": [
                    django.contrib.postgres.indexes.GinIndex(fields=["asset_ids"], name="audit_asset_ids_gin"),
                    models.Index(fields=["object_type", "object_id"], name="audit_object"),
                    models.Index(fields=["actor", "at"], name="audit_actor_at"),
                ],
            },
        ),
        migrations.RunSQL(AUDIT_IMMUTABLE, AUDIT_IMMUTABLE_REVERSE),
    ]
