"""The admin console's system page: the shared status snapshot plus the latest failures and their retry buttons.

Mounted under /admin/system/ through the admin site's own ``admin_view`` (login, CSRF, never cached),
and for superusers only: it shows where the services live and can re-enqueue anybody's assets.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.views.decorators.http import require_POST

from assets import failures
from assets.models import Asset
from workers.status import snapshot

FAILURES_SHOWN = 20


def _superuser_only(view):
    def wrapped(request, *args, **kwargs):
        if not request.user.is_superuser:
            raise PermissionDenied
        return view(request, *args, **kwargs)

    # admin_view sends anonymous and non-staff users to the admin login; staff who are not superusers get 403.
    return admin.site.admin_view(wrapped)


def system(request):
    latest, failed_total = failures.latest_failures(FAILURES_SHOWN)
    context = {
        **admin.site.each_context(request),
        "title": "System",
        **snapshot(),
        "failures": latest,
        "failed_total": failed_total,
    }
    return TemplateResponse(request, "admin/system.html", context)


@require_POST
def retry(request, pk: int):
    asset = get_object_or_404(Asset, pk=pk)
    failure = failures.retry(request.user, asset)
    if failure is None:
        messages.info(request, f"“{asset}” has not failed (any more); nothing to retry.")
    else:
        messages.success(request, f"Retrying {failure.stage} of “{asset}”.")
    return redirect("admin-system")


@require_POST
def retry_all(request):
    counts = failures.retry_all(request.user)
    if not any(counts.values()):
        messages.info(request, "No failed assets to retry.")
    else:
        messages.success(
            request, f"Retrying {counts['ingest']} failed ingest(s) and {counts['embedding']} failed embedding(s)."
        )
    return redirect("admin-system")


system_view = _superuser_only(system)
retry_view = _superuser_only(retry)
retry_all_view = _superuser_only(retry_all)
