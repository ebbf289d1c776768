from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import render

from workers.status import snapshot


@login_required
def system_status(request):
    if not (request.user.is_staff or request.user.is_superuser):
        raise PermissionDenied
    return render(request, "workers/status.html", {"nav": "status", **snapshot()})
