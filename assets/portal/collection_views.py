"""Collection pages. Collections are found through ``Collection.objects.visible_to`` (404 otherwise);
their assets through ``Asset.objects.visible_to``: a collection never shows anyone more assets."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Q
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from assets import collections
from assets.actions import collections as collection_actions
from assets.models import Collection
from assets.portal.access import staff_required, visible_assets
from assets.portal.forms import AssetIdsField, BulkForm, CollectionNameForm, ShareForm
from assets.portal.grid import grid_page
from assets.portal.navigation import apply_form, back, form_errors

NOT_YOURS = "You can see this collection but not change it. Ask its owner to share it with your team as editor."


def get_visible_collection(user, pk: int) -> Collection:
    return get_object_or_404(Collection.objects.visible_to(user).select_related("owner"), pk=pk)


def get_editable_collection(user, pk: int) -> Collection:
    """404 when hidden, 403 when visible but not editable."""
    collection = get_visible_collection(user, pk)
    if not collection.is_editable_by(user):
        raise PermissionDenied(NOT_YOURS)
    return collection


def get_owned_collection(user, pk: int) -> Collection:
    collection = get_visible_collection(user, pk)
    if collection.owner_id != user.pk and not user.is_superuser:
        raise PermissionDenied("Only the owner of a collection can share or delete it.")
    return collection


@staff_required
@require_safe
def collection_list(request):
    visible = Collection.objects.visible_to(request.user).select_related("owner")
    # Trashed assets are counted nowhere, as on the collection's own page (assets.collections.contents).
    alive = Q(items__asset__deleted_at__isnull=True)
    rows = visible.annotate(item_count=Count("items", filter=alive, distinct=True)).prefetch_related("shares__team")
    mine = [c for c in rows if c.owner_id == request.user.pk]
    shared = [c for c in rows if c.owner_id != request.user.pk]
    context = {"mine": mine, "shared": shared, "form": CollectionNameForm(), "nav": "collections"}
    return render(request, "portal/collections.html", context)


@staff_required
@require_POST
def collection_create(request):
    form = CollectionNameForm(request.POST)
    if not form.is_valid():
        form_errors(request, form)
        return back(request, "portal:collections")
    collection = collection_actions.create_collection(request.user, form.cleaned_data["name"])
    if ids := form.cleaned_data["asset"]:
        change = collection_actions.add_assets(request.user, collection, ids)
        messages.success(request, f"Created “{collection}” with {change.changed} asset(s).")
    else:
        messages.success(request, f"Created “{collection}”. Add assets from the library or an asset page.")
    return redirect("portal:collection-detail", pk=collection.pk)


@staff_required
@require_safe
def collection_detail(request, pk: int):
    collection = get_visible_collection(request.user, pk)
    contents = collections.contents(request.user, collection, visible_assets(request.user))
    page = grid_page(request, contents.assets)
    can_edit = collection.is_editable_by(request.user)
    is_owner = collection.owner_id == request.user.pk or request.user.is_superuser
    context = {
        "collection": collection,
        "page_obj": page,
        "assets": page.object_list,
        "contents": contents,
        "can_edit": can_edit,
        "is_owner": is_owner,
        "rename_form": CollectionNameForm(initial={"name": collection.name}) if can_edit else None,
        "share_form": ShareForm(user=request.user) if is_owner else None,
        "shares": collection.shares.select_related("team"),
        "bulk": BulkForm(user=request.user, initial={"next": request.get_full_path()}),
        "selectable": True,
        "nav": "collections",
    }
    return render(request, "portal/collection_detail.html", context)


@staff_required
@require_POST
def collection_rename(request, pk: int):
    collection = get_editable_collection(request.user, pk)

    def rename(data) -> str:
        old = collection.name
        collection_actions.rename_collection(request.user, collection, data["name"])
        return f"Renamed “{old}” to “{collection}”."

    apply_form(request, CollectionNameForm(request.POST), rename, collection_actions.CollectionError)
    return redirect("portal:collection-detail", pk=collection.pk)


def _change_assets(request, pk: int, *, adding: bool):
    collection = get_editable_collection(request.user, pk)
    try:
        ids = AssetIdsField().clean(request.POST.getlist("asset"))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return back(request, "portal:collection-detail", pk=collection.pk)
    change_assets = collection_actions.add_assets if adding else collection_actions.remove_assets
    change = change_assets(request.user, collection, ids)
    verb = "Added to" if adding else "Removed from"
    text = f"{verb} “{collection}”: {change.changed} asset(s)."
    if change.unchanged:
        text += f" {change.unchanged} {'already there' if adding else 'were not in it'}."
    if change.skipped:
        text += f" Skipped {change.skipped}: not visible to you."
    messages.success(request, text)
    return back(request, "portal:collection-detail", pk=collection.pk)


@staff_required
@require_POST
def collection_add(request, pk: int):
    return _change_assets(request, pk, adding=True)


@staff_required
@require_POST
def collection_remove(request, pk: int):
    return _change_assets(request, pk, adding=False)


@staff_required
@require_POST
def collection_share(request, pk: int):
    collection = get_owned_collection(request.user, pk)

    def share(data) -> str:
        done = collection_actions.share_collection(request.user, collection, data["team"], data["role"])
        return f"Shared with {done.team} as {done.role}."

    apply_form(request, ShareForm(request.POST, user=request.user), share, collection_actions.CollectionError)
    return redirect("portal:collection-detail", pk=collection.pk)


@staff_required
@require_POST
def collection_unshare(request, pk: int, team_id: int):
    collection = get_owned_collection(request.user, pk)
    if collection_actions.unshare_collection(request.user, collection, team_id):
        messages.success(request, "No longer shared with that team.")
    return redirect("portal:collection-detail", pk=collection.pk)


@staff_required
@require_http_methods(["GET", "HEAD", "POST"])
def collection_delete(request, pk: int):
    collection = get_owned_collection(request.user, pk)
    if request.method == "POST":
        name = str(collection)
        collection_actions.delete_collection(request.user, collection)
        messages.success(request, f"Deleted the collection “{name}”. Its assets were not deleted.")
        return redirect("portal:collections")
    count = collection.items.count()
    return render(request, "portal/collection_confirm_delete.html", {"collection": collection, "count": count})
