from django.contrib import admin, messages
from django.db.models import Count, Prefetch
from django.urls import reverse
from django.utils.html import format_html
from django.utils.text import Truncator

from assets import actions
from assets.models import (
    ActiveModel,
    Asset,
    Collection,
    CollectionItem,
    CollectionShare,
    Embedding,
    EmbeddingKind,
    Membership,
    Rendition,
    Team,
)


class MissingEmbeddingFilter(admin.SimpleListFilter):
    title = "missing vector (active model)"
    parameter_name = "missing_embedding"

    def lookups(self, request, model_admin):
        return EmbeddingKind.choices

    def queryset(self, request, queryset):
        if self.value() in EmbeddingKind.values:
            return queryset.missing_embedding(self.value())
        return queryset


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 1
    autocomplete_fields = ["user"]


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "member_count"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MembershipInline]

    @admin.display(description="Members")
    def member_count(self, team):
        return team.memberships.count()


class RenditionInline(admin.TabularInline):
    model = Rendition
    extra = 0
    fields = ["spec", "width", "height", "mime_type"]
    readonly_fields = fields
    can_delete = False


@admin.register(Asset)
class AssetAdmin(admin.ModelAdmin):
    list_display = [
        "thumbnail", "title", "status", "embedding_status", "problem", "vectors", "owner", "team", "visibility",
        "created_at",
    ]
    list_display_links = ["thumbnail", "title"]
    list_filter = ["status", "embedding_status", MissingEmbeddingFilter, "visibility", "mime_type", "team"]
    search_fields = ["title", "original_filename", "description", "sha256"]
    list_select_related = ["owner", "team"]
    readonly_fields = [
        "preview", "uid", "sha256", "mime_type", "byte_size", "width", "height", "original_filename", "file",
        "exif", "camera_make", "camera_model", "lens", "taken_at", "gps_latitude", "gps_longitude",
        "orientation", "status", "error", "status_changed_at", "processing_attempts", "embedding_status",
        "embedding_error", "vectors", "created_at", "updated_at",
    ]
    fields = ["preview", "title", "description", "tags", "owner", "team", "visibility", *readonly_fields[1:]]
    inlines = [RenditionInline]
    actions = ["reprocess", "reembed", "delete_with_files"]

    def get_queryset(self, request):
        # Staff who are not superusers see in the admin exactly what they see everywhere else.
        # Thumbnails and the vectors column read these prefetches: two queries per page, not two per row
        # (the ChangeList fetches its rows while it is built, so the prefetch must be on this queryset).
        return (
            super()
            .get_queryset(request)
            .visible_to(request.user)
            .prefetch_related("renditions", Prefetch("embeddings", queryset=Embedding.objects.defer("vector")))
        )

    def get_actions(self, request):
        available = super().get_actions(request)
        available.pop("delete_selected", None)  # bulk delete must remove files too
        return available

    def _thumb(self, asset, spec: str, size: int):
        rendition = next((r for r in asset.renditions.all() if r.spec == spec), None)
        if rendition is None:
            return "—"
        url = reverse("api:asset-rendition", args=[asset.pk, spec])
        return format_html('<img src="{}" alt="" style="max-width:{}px;max-height:{}px">', url, size, size)

    @admin.display(description="")
    def thumbnail(self, asset):
        return self._thumb(asset, "max256", 64)

    @admin.display(description="Preview")
    def preview(self, asset):
        return self._thumb(asset, "max1024", 480)

    @admin.display(description="Vectors")
    def vectors(self, asset):
        # From the prefetch above: one query for the whole page, vectors themselves deferred.
        rows = [f"{e.kind}: {e.model_id}" for e in sorted(asset.embeddings.all(), key=lambda e: e.kind)]
        return " · ".join(rows) or "—"

    @admin.display(description="Error")
    def problem(self, asset):
        # The ingest error, else the embedding one; the full text is on the change page and the system page.
        error = asset.error or asset.embedding_error
        if not error:
            return ""
        return format_html('<span title="{}">{}</span>', error, Truncator(error).chars(80))

    def delete_model(self, request, obj):
        actions.delete_asset(obj)

    @admin.action(description="Reprocess selected assets")
    def reprocess(self, request, queryset):
        for asset in queryset:
            actions.reprocess_asset(asset)
        self.message_user(request, f"Queued {queryset.count()} asset(s) for reprocessing.", messages.SUCCESS)

    @admin.action(description="Re-embed selected assets (missing or stale vectors)")
    def reembed(self, request, queryset):
        count = actions.request_embedding(list(queryset.values_list("pk", flat=True)))
        self.message_user(request, f"Queued {count} ready asset(s) for embedding.", messages.SUCCESS)

    @admin.action(description="Delete selected assets and their files")
    def delete_with_files(self, request, queryset):
        count = 0
        for asset in queryset:
            actions.delete_asset(asset)
            count += 1
        self.message_user(request, f"Deleted {count} asset(s).", messages.SUCCESS)


@admin.register(ActiveModel)
class ActiveModelAdmin(admin.ModelAdmin):
    list_display = ["kind", "available", "model_id", "dim", "device", "dtype", "reason", "worker", "updated_at"]
    readonly_fields = list_display

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class CollectionShareInline(admin.TabularInline):
    model = CollectionShare
    extra = 0
    autocomplete_fields = ["team"]


class CollectionItemInline(admin.TabularInline):
    model = CollectionItem
    extra = 0
    fields = ["asset", "added_by", "added_at"]
    readonly_fields = ["added_at"]
    raw_id_fields = ["asset", "added_by"]


@admin.register(Collection)
class CollectionAdmin(admin.ModelAdmin):
    list_display = ["name", "owner", "item_count", "shared_with", "updated_at"]
    list_filter = ["shares__team"]
    search_fields = ["name", "owner__username"]
    list_select_related = ["owner"]
    autocomplete_fields = ["owner"]
    inlines = [CollectionShareInline, CollectionItemInline]

    def get_queryset(self, request):
        # Staff who are not superusers see the collections they see in the portal, no more.
        queryset = super().get_queryset(request).visible_to(request.user)
        return queryset.annotate(item_total=Count("items", distinct=True)).prefetch_related("shares__team")

    @admin.display(description="Assets", ordering="item_total")
    def item_count(self, collection):
        return collection.item_total

    @admin.display(description="Shared with")
    def shared_with(self, collection):
        return ", ".join(f"{share.team} ({share.role})" for share in collection.shares.all()) or "—"
