from django.urls import path

from workers.health import healthz
from workers.views import system_status

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("status/", system_status, name="system-status"),
]
