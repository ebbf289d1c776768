"""Staff portal pages. Views check access and validate forms; assets.actions changes state."""

from __future__ import annotations

from collections import Counter

from django.conf import settings
from django.contrib import messages
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from assets import actions, collections, documents, embedded, facets
from assets.actions import pipeline
from assets.errors import RejectedUpload
from assets.models import Asset, AuditEntry
from assets.multipart import client_name
from assets.portal import display, facet_links, media_display
from assets.portal.access import get_editable_asset, get_visible_asset, staff_required, visible_assets
from assets.portal.forms import (
    AssetEditForm,
    BulkForm,
    FindingCorrectionForm,
    LibraryFilterForm,
    LibrarySortForm,
    UploadForm,
)
from assets.portal.grid import grid_page
from assets.representation import shown

MAX_STATUS_IDS = 500

# --- Library ------------------------------------------------------------------------------


@staff_required
@require_safe
def library(request):
    filters = LibraryFilterForm(request.GET, user=request.user)
    sort = LibrarySortForm(request.GET)
    filtered = filters.filter(visible_assets(request.user), request.user)
    page = grid_page(request, sort.order(filtered))
    context = {
        "page_obj": page,
        "assets": page.object_list,
        "filters": filters,
        "facets": facet_links.groups(facets.facets(filtered), request.GET, filters),
        "sort": sort,
        "bulk": BulkForm(user=request.user, initial={"next": request.get_full_path()}),
        "selectable": True,
        "nav": "library",
    }
    return render(request, "portal/library.html", context)


@staff_required
@require_safe
def asset_status(request):
    """Status of many assets in one request (``?ids=1,2,3``), for pages that follow processing live.
    Ids the person may not see are left out, as if they did not exist."""
    raw = request.GET.get("ids", "")
    try:
        ids = {int(part) for part in raw.split(",") if part.strip()}
    except ValueError:
        return JsonResponse({"detail": "ids must be comma-separated numbers"}, status=400)
    if len(ids) > MAX_STATUS_IDS:
        return JsonResponse({"detail": f"at most {MAX_STATUS_IDS} ids per request"}, status=400)
    rows = visible_assets(request.user).filter(pk__in=ids).order_by("pk")
    return JsonResponse({"assets": [display.status_json(display.decorate(asset)) for asset in rows]})


# --- Upload -------------------------------------------------------------------------------


@staff_required
@require_http_methods(["GET", "HEAD", "POST"])
def upload(request):
    if request.method != "POST":
        return render(request, "portal/upload.html", {"form": UploadForm(user=request.user), "nav": "upload"})

    form = UploadForm(request.POST, request.FILES, user=request.user)
    wants_json = "application/json" in request.headers.get("Accept", "")
    if form.is_valid():
        options = form.options()
        try:
            actions.check_options(request.user, options)
        except RejectedUpload as exc:
            form.add_error(None, exc.reason)
        else:
            files = [(client_name(upload), upload) for upload in form.cleaned_data["files"]]
            results = list(actions.upload_many(request.user, files, options))
            counts = Counter(result.status for result in results)
            if wants_json:
                return JsonResponse({"results": _results_json(results), "title_ignored": form.title_ignored})
            return render(
                request,
                "portal/upload_results.html",
                {
                    "results": results,
                    "counts": {key: counts.get(key, 0) for key in ("created", "duplicate", "rejected")},
                    "title_ignored": form.title_ignored,
                    "nav": "upload",
                },
            )
    if wants_json:
        return JsonResponse({"errors": {field: list(errors) for field, errors in form.errors.items()}}, status=400)
    return render(request, "portal/upload.html", {"form": form, "nav": "upload"}, status=400)


def _results_json(results: list[actions.UploadResult]) -> list[dict]:
    """Upload results for the upload page's script, each with its asset's status to follow (one query)."""
    ids = [result.asset.pk for result in results if result.asset is not None]
    assets = {asset.pk: asset for asset in Asset.objects.filter(pk__in=ids).prefetch_related("renditions")}
    rows = []
    for result in results:
        data = result.as_dict()
        if (asset := assets.get(data["id"])) is not None:
            data["asset"] = display.status_json(display.decorate(asset))
        rows.append(data)
    return rows


# --- One asset ----------------------------------------------------------------------------


def _asset_page(request, asset, *, form=None, status=200):
    can_edit = asset.is_editable_by(request.user)
    if can_edit and form is None:
        form = AssetEditForm(instance=asset, user=request.user)
    display.decorate(asset)
    keywords = display.embedded_keywords(asset)
    context = {
        "asset": asset,
        "can_edit": can_edit,
        "form": form if can_edit else None,
        "preview": display.picture(asset, display.PREVIEW_SPEC),
        "exif_rows": display.exif_rows(asset),
        "embedded_rows": display.embedded_rows(asset),
        "embedded_keywords": keywords,
        "keywords_dropped": any(not is_tag for _, is_tag in keywords),
        "embedded_place": display.embedded_place(asset),
        "tags_from_file": set(embedded.from_file(asset)),
        "findings": display.finding_rows(asset),
        "analysis_busy": asset.analysis_status in display.ANALYSIS_BUSY,
        "location": display.location(asset),
        "media_facts": media_display.facts(asset),
        "stills": media_display.stills(asset),
        "player": media_display.player(asset),
        "renditions": [
            (rendition, display.rendition_url(asset, rendition)) for rendition in shown(asset, "renditions")
            if media_display.is_listed_download(rendition.spec)
        ],
        "status_url": reverse("api:asset-detail", args=[asset.pk]),
        "history": history(asset),
    }
    context["in_collections"], context["other_collections"] = collections.collections_with_asset(request.user, asset)
    return render(request, "portal/asset_detail.html", context, status=status)


HISTORY_SHOWN = 50


def history(asset: Asset) -> list[display.HistoryRow]:
    """The asset's audit entries, newest first, each with its changes to this asset."""
    entries = AuditEntry.objects.filter(asset_ids__contains=[asset.pk])[:HISTORY_SHOWN]
    return display.history_rows(entries, asset.pk)


@staff_required
@require_safe
def asset_detail(request, pk: int):
    return _asset_page(request, get_visible_asset(request.user, pk))


@staff_required
@require_POST
def asset_edit(request, pk: int):
    asset = get_editable_asset(request.user, pk)
    form = AssetEditForm(request.POST, instance=asset, user=request.user)
    if not form.is_valid():
        # The form wrote the rejected values onto its instance; show the page from a fresh copy.
        return _asset_page(request, get_visible_asset(request.user, pk), form=form, status=400)
    changes = {name: form.cleaned_data[name] for name in form.changed_data}
    if changes:
        # The action locks and compares against the stored row (the form has written onto `asset`).
        try:
            actions.update_asset(request.user, asset.pk, changes)
        except actions.EditRefused as exc:
            form.add_error(None, str(exc))
            return _asset_page(request, get_visible_asset(request.user, pk), form=form, status=400)
        messages.success(request, "Changes saved.")
    else:
        messages.info(request, "Nothing to save: no field was changed.")
    return redirect("portal:asset-detail", pk=asset.pk)


@staff_required
@require_POST
def asset_correct_finding(request, pk: int, analyser: str):
    """Correct what one analyser found (or go back to the machine's text): editors only."""
    if analyser not in documents.ANALYSED:
        raise Http404("No such analyser.")
    asset = get_editable_asset(request.user, pk)
    form = FindingCorrectionForm(request.POST)
    label = display.analyser_label(analyser)
    if not form.is_valid():
        errors = "; ".join(message for messages_ in form.errors.values() for message in messages_)
        messages.error(request, f"The correction of “{label}” was not saved: {errors}")
    else:
        restore = form.cleaned_data["action"] == FindingCorrectionForm.RESTORE
        try:
            actions.correct_analysis(request.user, asset.pk, analyser, None if restore else form.cleaned_data["text"])
        except (actions.EditRefused, actions.NotAllowed) as exc:
            messages.error(request, f"The correction of “{label}” was not saved: {exc}")
        else:
            if restore:
                messages.success(request, f"“{label}” shows what the machine found again.")
            else:
                messages.success(request, f"Saved your correction of “{label}”.")
    return redirect(reverse("portal:asset-detail", args=[asset.pk]) + "#detected")


@staff_required
@require_POST
def asset_reprocess(request, pk: int):
    asset = get_editable_asset(request.user, pk)
    pipeline.reprocess(request.user, [asset.pk])
    messages.success(request, "Queued for reprocessing: metadata and thumbnails will be made again.")
    return redirect("portal:asset-detail", pk=asset.pk)


@staff_required
@require_http_methods(["GET", "HEAD", "POST"])
def asset_delete(request, pk: int):
    asset = get_editable_asset(request.user, pk)
    if request.method == "POST":
        actions.trash(request.user, [asset.pk])
        messages.success(request, f"Moved “{asset}” to the trash. You can restore it from there.")
        return redirect("portal:library")
    display.decorate(asset)
    context = {"asset": asset, "retention_days": settings.TRASH_RETENTION_DAYS}
    return render(request, "portal/asset_confirm_delete.html", context)
