"""The bulk-action endpoint behind the grid's selection bar: a plain form POST, with or without JavaScript."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.shortcuts import render
from django.views.decorators.http import require_POST

from assets.actions import bulk
from assets.portal.access import staff_required
from assets.portal.forms import BulkForm
from assets.portal.navigation import back, form_errors, safe_next


def _run(user, data: dict) -> bulk.Outcome:
    ids, action = data["asset"], data["action"]
    if action == "add_tags":
        return bulk.add_tags(user, ids, data["tags"])
    if action == "remove_tags":
        return bulk.remove_tags(user, ids, data["tags"])
    if action == "set_visibility":
        return bulk.set_visibility(user, ids, data["visibility"])
    if action == "move_to_team":
        return bulk.move_to_team(user, ids, data["team"])
    if action == "add_to_collection":
        return bulk.add_to_collection(user, ids, data["collection"])
    if action == "reprocess":
        return bulk.reprocess(user, ids)
    if action == "delete":
        return bulk.delete(user, ids)
    raise bulk.BulkError("Choose an action.")


@staff_required
@require_POST
def bulk_action(request):
    form = BulkForm(request.POST, user=request.user)
    if not form.is_valid():
        form_errors(request, form)
        return back(request, "portal:library")
    data = form.cleaned_data
    if data["action"] == "delete" and not data["confirm"]:
        deletable, skipped = bulk.count_deletable(request.user, data["asset"])
        context = {
            "ids": data["asset"],
            "deletable": deletable,
            "skipped": skipped,
            "next": safe_next(request, data["next"]),
            "retention_days": settings.TRASH_RETENTION_DAYS,
        }
        return render(request, "portal/bulk_confirm_delete.html", context)
    try:
        outcome = _run(request.user, data)
    except bulk.BulkError as exc:
        messages.error(request, str(exc))
    else:
        level = messages.SUCCESS if outcome.changed or not outcome.skipped_total else messages.WARNING
        messages.add_message(request, level, outcome.message())
    return back(request, "portal:library")
