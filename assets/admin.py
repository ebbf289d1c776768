"""The admin console. It applies the same rules as every other door and changes state only through
``assets.actions``: staff see what they see in the portal, edit what they may edit there, and
every change lands in the audit log."""

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.db.models import Count, Prefetch, Q
from django.urls import reverse
from django.utils.html import format_html
from django.utils.text import Truncator

from assets import actions
from assets.actions import collections as collection_actions
from assets.actions import pipeline, switches
from assets.actions import teams as team_actions
from assets.actions.editing import EDITABLE_FIELDS
from assets.actions.permissions import filing_refusal
from assets.models import (
    EDIT_ROLES,
    ActiveModel,
    Asset,
    AuditEntry,
    Blob,
    Collection,
    CollectionItem,
    CollectionShare,
    Embedding,
    EmbeddingKind,
    Membership,
    ModelSwitch,
    Rendition,
    SwitchState,
    Team,
    Visibility,
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

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(member_total=Count("memberships"))

    @admin.display(description="Members", ordering="member_total")
    def member_count(self, team):
        return team.member_total

    def save_model(self, request, obj, form, change):
        try:
            if change:
                team_actions.update_team(request.user, obj, name=obj.name, slug=obj.slug)
            else:
                created = team_actions.create_team(request.user, obj.name, obj.slug)
                obj.pk = created.pk
        except team_actions.TeamError as exc:
            messages.error(request, str(exc))

    def save_formset(self, request, form, formset, change):
        """Membership rows go through the same actions as the portal's team page (the last manager stays)."""
        team = form.instance
        for inline in formset.forms:
            if not inline.has_changed() or not hasattr(inline, "cleaned_data") or not inline.cleaned_data:
                continue
            data, membership = inline.cleaned_data, inline.instance
            try:
                if data.get("DELETE") and membership.pk:
                    team_actions.remove_member(request.user, membership)
                elif membership.pk is None:
                    team_actions.add_member(request.user, team, data["user"].get_username(), data["role"])
                elif "user" in inline.changed_data:
                    messages.error(request, "To put someone else in a membership, remove it and add a new one.")
                else:
                    team_actions.set_role(request.user, membership, data["role"])
            except team_actions.TeamError as exc:
                messages.error(request, str(exc))

    def delete_model(self, request, obj):
        team_actions.delete_team(request.user, obj)

    def delete_queryset(self, request, queryset):
        for team in queryset:
            team_actions.delete_team(request.user, team)


class RenditionInline(admin.TabularInline):
    model = Rendition
    extra = 0
    fields = ["spec", "width", "height", "mime_type", "blob"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


class AssetAdminForm(forms.ModelForm):
    """The edit rules of every other door: a team needs an editor role there, team visibility a team."""

    class Meta:
        model = Asset
        fields = ["title", "description", "tags", "caption", "owner", "team", "visibility"]

    def clean(self):
        cleaned = super().clean()
        team = cleaned.get("team", self.instance.team)
        visibility = cleaned.get("visibility", self.instance.visibility)
        if visibility == Visibility.TEAM and team is None:
            self.add_error("team", "Team visibility needs a team.")
        elif "team" in self.changed_data and team is not None:
            reason = filing_refusal(self.current_user, team, visibility)
            if reason:
                self.add_error("team", reason)
        return cleaned


@admin.register(Asset)
class AssetAdmin(admin.ModelAdmin):
    form = AssetAdminForm
    list_display = [
        "thumbnail", "title", "status", "embedding_status", "problem", "vectors", "owner", "team", "visibility",
        "created_at",
    ]
    list_display_links = ["thumbnail", "title"]
    list_filter = ["status", "embedding_status", MissingEmbeddingFilter, "visibility", "mime_type", "team"]
    search_fields = ["title", "original_filename", "description", "sha256"]
    list_select_related = ["owner", "team"]
    info_fields = [
        "preview", "uid", "sha256", "mime_type", "byte_size", "width", "height", "original_filename", "blob",
        "exif", "camera_make", "camera_model", "lens", "taken_at", "gps_latitude", "gps_longitude",
        "orientation", "status", "error", "status_changed_at", "processing_attempts", "embedding_status",
        "embedding_error", "vectors", "created_at", "updated_at",
    ]
    inlines = [RenditionInline]
    actions = ["reprocess", "reembed", "move_to_trash"]

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

    def get_fields(self, request, obj=None):
        return ["preview", "title", "description", "tags", "caption", "owner", "team", "visibility",
                *self.info_fields[1:]]

    def get_readonly_fields(self, request, obj=None):
        editable = obj is not None and obj.is_editable_by(request.user)
        fixed = list(self.info_fields)
        if not editable:
            return [*fixed, *sorted(EDITABLE_FIELDS)]
        if not request.user.is_superuser:
            fixed.append("owner")  # only an administrator gives an asset to someone else
        return fixed

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        form.current_user = request.user
        return form

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "team" and not request.user.is_superuser:
            # Teams this person may file under, plus whatever team the asset is in now.
            current = request.resolver_match.kwargs.get("object_id") if request.resolver_match else None
            teams = Team.objects.filter(memberships__user=request.user, memberships__role__in=EDIT_ROLES)
            if current:
                teams = teams | Team.objects.filter(assets__pk=current)
            kwargs["queryset"] = teams.distinct().order_by("name")
        if db_field.name == "owner":
            kwargs["queryset"] = get_user_model().objects.filter(is_active=True, is_staff=True).order_by("username")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def has_add_permission(self, request):
        return False  # uploads go through the portal, the API or import_media: they validate the file

    def has_change_permission(self, request, obj=None):
        if obj is not None and not obj.is_editable_by(request.user):
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and not obj.is_editable_by(request.user):
            return False
        return super().has_delete_permission(request, obj)

    def save_model(self, request, obj, form, change):
        changes = {name: form.cleaned_data[name] for name in form.changed_data if name in EDITABLE_FIELDS}
        if changes:
            try:
                actions.update_asset(request.user, obj.pk, changes)
            except (actions.EditRefused, actions.NotAllowed) as exc:
                messages.error(request, f"Not saved: {exc}")

    def save_related(self, request, form, formsets, change):
        pass  # renditions are the pipeline's; nothing else hangs off an asset here

    def get_actions(self, request):
        available = super().get_actions(request)
        available.pop("delete_selected", None)  # deleting goes to the trash, through move_to_trash
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
        actions.trash(request.user, [obj.pk])

    def delete_queryset(self, request, queryset):
        actions.trash(request.user, list(queryset.values_list("pk", flat=True)))

    def _editable_ids(self, request, queryset) -> list[int]:
        return list(queryset.filter(pk__in=Asset.objects.editable_by(request.user).values("pk")).values_list(
            "pk", flat=True))

    @admin.action(description="Reprocess selected assets")
    def reprocess(self, request, queryset):
        done = pipeline.reprocess(request.user, self._editable_ids(request, queryset))
        self.message_user(request, f"Queued {len(done)} asset(s) for reprocessing.", messages.SUCCESS)

    @admin.action(description="Re-embed selected assets (missing or stale vectors)")
    def reembed(self, request, queryset):
        count = actions.request_embedding(request.user, self._editable_ids(request, queryset))
        self.message_user(request, f"Queued {count} ready asset(s) for embedding.", messages.SUCCESS)

    @admin.action(description="Move selected assets to the trash")
    def move_to_trash(self, request, queryset):
        moved = actions.trash(request.user, list(queryset.values_list("pk", flat=True)))
        self.message_user(
            request, f"Moved {len(moved)} asset(s) to the trash; their owners can restore them.", messages.SUCCESS
        )


@admin.register(ActiveModel)
class ActiveModelAdmin(admin.ModelAdmin):
    list_display = ["kind", "available", "model_id", "dim", "device", "dtype", "reason", "worker", "updated_at"]
    readonly_fields = list_display

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class _ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class CollectionShareInline(_ReadOnlyInline):
    model = CollectionShare
    fields = ["team", "role"]
    readonly_fields = fields


class CollectionItemInline(_ReadOnlyInline):
    model = CollectionItem
    fields = ["asset", "added_by", "added_at"]
    readonly_fields = fields


@admin.register(Collection)
class CollectionAdmin(admin.ModelAdmin):
    """Sharing and contents are managed on the collection's portal page (the same rules for everyone)."""

    list_display = ["name", "owner", "item_count", "shared_with", "updated_at"]
    list_filter = ["shares__team"]
    search_fields = ["name", "owner__username"]
    list_select_related = ["owner"]
    fields = ["name", "owner", "created_at", "updated_at"]
    readonly_fields = ["owner", "created_at", "updated_at"]
    inlines = [CollectionShareInline, CollectionItemInline]

    def get_queryset(self, request):
        # Staff who are not superusers see the collections they see in the portal, no more.
        queryset = super().get_queryset(request).visible_to(request.user)
        alive = Q(items__asset__deleted_at__isnull=True)  # trashed assets are counted nowhere
        queryset = queryset.annotate(item_total=Count("items", filter=alive, distinct=True))
        return queryset.prefetch_related("shares__team")

    def has_add_permission(self, request):
        return False  # collections are made in the portal

    def has_change_permission(self, request, obj=None):
        if obj is not None and not obj.is_editable_by(request.user):
            return False
        return super().has_change_permission(request, obj)

    def save_model(self, request, obj, form, change):
        if "name" in form.changed_data:
            try:
                collection_actions.rename_collection(request.user, Collection.objects.get(pk=obj.pk), obj.name)
            except collection_actions.CollectionError as exc:
                messages.error(request, str(exc))

    def delete_model(self, request, obj):
        try:
            collection_actions.delete_collection(request.user, obj)
        except collection_actions.CollectionError as exc:
            messages.error(request, str(exc))

    def delete_queryset(self, request, queryset):
        for collection in queryset:
            self.delete_model(request, collection)

    @admin.display(description="Assets", ordering="item_total")
    def item_count(self, collection):
        return collection.item_total

    @admin.display(description="Shared with")
    def shared_with(self, collection):
        return ", ".join(f"{share.team} ({share.role})" for share in collection.shares.all()) or "—"


class ActorFilter(admin.SimpleListFilter):
    title = "who"
    parameter_name = "actor"

    def lookups(self, request, model_admin):
        names = AuditEntry.objects.order_by("actor_name").values_list("actor_name", flat=True).distinct()[:200]
        return [(name, name) for name in names]

    def queryset(self, request, queryset):
        return queryset.filter(actor_name=self.value()) if self.value() else queryset


class SuperuserRecordAdmin(admin.ModelAdmin):
    """Rows only the system writes, shown to superusers and to nobody else; never edited here."""

    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_superuser

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ModelSwitch)
class ModelSwitchAdmin(SuperuserRecordAdmin):
    """Each kind's move to a newly configured model: how far its vectors are (done / total, the
    rate over the last minutes, the time left), and, for superusers, finish now or abandon."""

    list_display = ["kind", "state", "vectors", "rate", "time_left", "from_model_id", "to_model_id", "started_at",
                    "ended_at", "ended_by"]
    readonly_fields = ["kind", "state", "vectors", "rate", "time_left", "from_model_id", "to_model_id", "from_spec",
                       "started_at", "ended_at", "ended_by", "cleaned_at"]
    actions = ["finish_switches", "abandon_switches"]

    def _progress(self, obj):
        cache = getattr(self, "_progress_cache", {})
        if obj.pk not in cache:
            cache[obj.pk] = switches.progress(obj)
            self._progress_cache = cache
        return cache[obj.pk]

    def get_queryset(self, request):
        self._progress_cache = {}
        return super().get_queryset(request)

    @admin.display(description="vectors done")
    def vectors(self, obj):
        progress = self._progress(obj)
        share = f" ({100 * progress.done / progress.total:.0f}%)" if progress.total else ""
        return f"{progress.done} / {progress.total}{share}"

    @admin.display(description="rate")
    def rate(self, obj):
        return f"{self._progress(obj).per_second:.1f}/s" if obj.state == SwitchState.RUNNING else "-"

    @admin.display(description="time left")
    def time_left(self, obj):
        eta = self._progress(obj).eta_seconds
        if obj.state != SwitchState.RUNNING:
            return "-"
        if eta is None:
            return "unknown (no new vectors in the last minutes)"
        minutes, seconds = divmod(int(eta), 60)
        hours, minutes = divmod(minutes, 60)
        return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min {seconds:02d} s"

    def _switch_all(self, request, queryset, act, done: str) -> None:
        changed = [act(request.user, pk) for pk in queryset.values_list("pk", flat=True)]
        self.message_user(request, f"{done}: {', '.join(str(s) for s in changed) or 'none'}.", messages.SUCCESS)

    @admin.action(description="Finish now: search uses the new model's vectors (as far as they go)")
    def finish_switches(self, request, queryset):
        self._switch_all(request, queryset, switches.finish, "Finished")

    @admin.action(description="Abandon: search stays on the previous model; the new vectors are dropped")
    def abandon_switches(self, request, queryset):
        self._switch_all(request, queryset, switches.abandon, "Abandoned")


@admin.register(AuditEntry)
class AuditEntryAdmin(SuperuserRecordAdmin):
    """The audit log: read-only, for superusers."""

    list_display = ["at", "actor_name", "action", "object_type", "object_repr", "assets"]
    list_filter = [ActorFilter, "action", "object_type", "at"]
    date_hierarchy = "at"
    search_fields = ["object_repr", "actor_name", "action"]
    readonly_fields = ["at", "actor_id", "actor_name", "action", "object_type", "object_id", "object_repr",
                       "asset_ids", "changes", "detail"]
    fields = readonly_fields

    @admin.display(description="Assets")
    def assets(self, entry):
        ids = entry.asset_ids
        return ", ".join(map(str, ids[:10])) + (f" … ({len(ids)})" if len(ids) > 10 else "")



@admin.register(Blob)
class BlobAdmin(SuperuserRecordAdmin):
    """Stored files (read-only): `manage.py verify_storage` checks them against storage."""

    list_display = ["name", "store", "size", "mime_type", "created_at"]
    list_filter = ["store", "mime_type"]
    search_fields = ["sha256", "name"]
    readonly_fields = ["store", "sha256", "size", "name", "mime_type", "created_at"]

