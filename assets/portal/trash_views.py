"""The trash page: what a person deleted (or, for a superuser, anyone), to restore or purge for good.

Only ``Asset.objects.in_trash_of`` finds these assets; every other page and API treats them as gone.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST, require_safe

from assets.actions import bulk
from assets.downloads import serve_file
from assets.models import Asset, Rendition
from assets.portal.access import staff_required
from assets.portal.display import THUMBNAIL_SPEC
from assets.portal.forms import AssetIdsField

PAGE_SIZE = 48


def _trash(user):
    return Asset.objects.in_trash_of(user).select_related("owner", "deleted_by").order_by("-deleted_at", "-id")


@staff_required
@require_safe
def trash_list(request):
    page = Paginator(_trash(request.user), PAGE_SIZE).get_page(request.GET.get("page"))
    retention = dt.timedelta(days=settings.TRASH_RETENTION_DAYS)
    thumbs = set(
        Rendition.objects.filter(asset__in=[a.pk for a in page.object_list], spec=THUMBNAIL_SPEC)
        .values_list("asset_id", flat=True)
    )
    for asset in page.object_list:
        asset.purge_after = asset.deleted_at + retention
        asset.has_thumb = asset.pk in thumbs
    context = {
        "page_obj": page,
        "assets": page.object_list,
        "retention_days": settings.TRASH_RETENTION_DAYS,
        "nav": "trash",
    }
    return render(request, "portal/trash.html", context)


@staff_required
@require_safe
def trash_thumbnail(request, pk: int):
    """The thumbnail of a trashed asset, for the one who may restore it (nobody else sees it)."""
    rendition = (
        Rendition.objects.select_related("blob")
        .filter(asset__in=Asset.objects.in_trash_of(request.user), asset_id=pk, spec=THUMBNAIL_SPEC)
        .first()
    )
    if rendition is None:
        raise Http404("no such thumbnail")
    return serve_file(rendition.blob, filename=f"trash-{pk}.jpg", mime_type=rendition.mime_type, attachment=False)


def _selection(request) -> list[int] | None:
    try:
        return AssetIdsField().clean(request.POST.getlist("asset"))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return None


@staff_required
@require_POST
def trash_restore(request):
    ids = _selection(request)
    if ids:
        outcome = bulk.restore(request.user, ids)
        messages.success(request, outcome.message())
    return redirect("portal:trash")


@staff_required
@require_POST
def trash_purge(request):
    ids = _selection(request)
    if not ids:
        return redirect("portal:trash")
    if not request.POST.get("confirm"):
        chosen = list(_trash(request.user).filter(pk__in=ids))
        return render(request, "portal/trash_confirm_purge.html", {"assets": chosen, "nav": "trash"})
    outcome = bulk.purge(request.user, ids)
    messages.success(request, outcome.message())
    return redirect("portal:trash")
