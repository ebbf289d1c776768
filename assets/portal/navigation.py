"""Where a form sends people back to, and how a page reports what a request did."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme


def safe_next(request, target: str | None) -> str:
    """`target` when it is a URL of this site, else ""."""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return ""


def back(request, fallback: str, *args, **kwargs):
    """Redirect to the form's ``next`` when it is a local URL, else to `fallback` (a URL name)."""
    return redirect(safe_next(request, request.POST.get("next")) or fallback, *args, **kwargs)


def form_errors(request, form) -> None:
    """Report a form's errors as messages (for forms that live on another page than their view)."""
    for field, errors in form.errors.items():
        label = form.fields[field].label if field in form.fields else ""
        for error in errors:
            messages.error(request, f"{label}: {error}" if label and field != "asset" else error)


def apply_form(request, form, change, refused: type[Exception] | tuple = ()) -> None:
    """Validate `form`; when valid, ``change(cleaned_data)`` makes the change and returns what to tell the
    person. Form errors and `refused` exceptions (a reason the change cannot be made) become messages."""
    if not form.is_valid():
        form_errors(request, form)
        return
    try:
        text = change(form.cleaned_data)
    except refused as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, text)
